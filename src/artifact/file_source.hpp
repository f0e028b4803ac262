#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace ztp::artifact {

// What one entry of a layer is.
enum class EntryKind { file, dir, symlink };

// One entry of the tree that goes into a layer. `path` is relative and '/'-separated, with no
// leading "/" or "./", no trailing "/", and no "." or ".." components.
// A file's bytes are held in `content`; or, when `source_file` is set, read from that file in
// pieces while the layer is written (so a large file is never held whole; `size` is then the
// file's size as listed, and a file that no longer has that size stops the build); or, when
// `load` is set, read through it when wanted (a blob of a commit: the layer reads one at a time,
// so a tree is never held whole).
struct FileEntry {
  std::string path;
  EntryKind kind = EntryKind::file;
  unsigned mode = 0644;     // permission bits as found; a layer keeps only "executable or not"
  std::string content;      // file: the bytes, unless source_file is set
  std::string link_target;  // symlink: the target as written
  std::filesystem::path source_file{};          // file: where to read the bytes from, when set
  std::int64_t size = 0;                        // file with source_file: its size in bytes
  std::function<Result<std::string>()> load{};  // file: gives the bytes, when set
  // Set by a Dockerfile's COPY --chown / --chmod, and for files taken from a base image's
  // layers: the owner and the exact permission bits (with setuid, setgid, sticky), kept as is.
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  bool exact_mode = false;  // `mode` is written as is instead of normalised
};

// Where the content of a layer comes from: a directory on disk, a commit's tree. An
// implementation returns every entry once, sorted by path (byte order), parents before children.
class FileSource {
 public:
  virtual ~FileSource() = default;
  // All entries of the tree; an error names the entry that could not be read.
  virtual Result<std::vector<FileEntry>> entries() const = 0;
  // What the source is, for messages: "directory application/", "commit 1a2b3c4".
  virtual std::string describe() const = 0;
};

// Checks and normalises an entry path ("./a/b/" -> "a/b"). invalid when it is empty, absolute,
// or has a "." or ".." component.
Result<std::string> normalize_entry_path(std::string_view path);

// True when a symlink at `entry_path` pointing to `target` resolves (lexically) outside the root
// of the tree: an absolute target, or one whose ".." climb above the root.
bool link_escapes(std::string_view entry_path, std::string_view target);

// The bytes of file entry `e`, wherever they are kept (content, source_file or load).
Result<std::string> entry_bytes(const FileEntry& e);

// Sorts entries by path in byte order, the order of every layer we write.
void sort_entries(std::vector<FileEntry>& entries);

}  // namespace ztp::artifact
