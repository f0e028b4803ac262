#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace ztp::fs {

// Reads a whole file. not_found when it does not exist.
Result<std::string> read_file(const std::filesystem::path& path);

// Replaces `path` with `content` so that a crash leaves either the old or the new file, never a
// mix: writes a temporary file beside it, fsyncs it, renames it over, fsyncs the directory.
// `mode` applies to the new file.
Result<void> atomic_write(const std::filesystem::path& path, std::string_view content,
                          unsigned mode = 0644);

// Creates `dir` and its parents; an existing directory is fine.
Result<void> ensure_dir(const std::filesystem::path& dir);

// This process's executable as a real path (read once from /proc/self/exe), so that a child
// started from it shows under its name in `ps` and `pgrep`. "/proc/self/exe" itself when the
// link cannot be read or the file was replaced since this process started.
const std::filesystem::path& self_executable();

// Creates `dir` and its parents and makes `dir` itself readable by its owner only (0700),
// whatever the umask; an existing directory with group or other permissions is tightened.
Result<void> ensure_private_dir(const std::filesystem::path& dir);

// Makes the file `path` readable by its owner only (0600) when it exists with other
// permissions; nothing when it does not exist.
Result<void> make_private(const std::filesystem::path& path);

}  // namespace ztp::fs
