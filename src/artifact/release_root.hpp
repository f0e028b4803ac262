#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace ztp::artifact {

// An owned file descriptor, closed on destruction (-1 when empty).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return m_fd; }
  int release();

 private:
  int m_fd = -1;
};

// A release directory being filled from image layers. Every path is an image path as
// normalize_entry_path() returns it, and the kernel resolves it inside the root (openat2 with
// RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): symlinks that stay inside are followed (`lib ->
// usr/lib`), and a path that would leave the root through any symlink or chain of symlinks
// fails with Errc::refused before anything is created, written or removed. The last component
// of a path is never followed. Errors carry only the reason; the caller names the entry.
class ReleaseRoot {
 public:
  // Opens the (empty) directory `dir`. unavailable when the kernel has no openat2 (Linux 5.6).
  static Result<ReleaseRoot> open(const std::filesystem::path& dir);

  // A directory at `path` (an existing one is kept; anything else there is replaced), with its
  // missing parents. Its mode and mtime are applied by finish(), so that a read-only directory
  // can still be filled by later entries.
  Result<void> make_dir(std::string_view path, unsigned mode, std::int64_t mtime);
  // A new empty regular file at `path`, replacing what was there, open for writing; the caller
  // writes it and sets its mode and times through the descriptor.
  Result<UniqueFd> create_file(std::string_view path);
  // A symlink at `path` to `target` (not checked here), replacing what was there.
  Result<void> make_symlink(std::string_view path, const std::string& target, std::int64_t mtime);
  // A hard link at `path` to the existing non-directory `target`, replacing what was there.
  Result<void> make_hardlink(std::string_view path, std::string_view target);
  // Removes what `path` names, a directory with everything in it (a whiteout); nothing when
  // absent.
  Result<void> remove(std::string_view path);
  // Removes everything inside the directory `path` ("" for the root; an opaque whiteout);
  // nothing when absent.
  Result<void> clear_dir(std::string_view path);

  // refused, naming the link, when a symlink anywhere in the tree resolves outside the root
  // (links that escape only through one another: "a -> ." and "b -> a/..").
  Result<void> check_links() const;
  // Applies the modes and mtimes of the directories that make_dir() made, deepest first.
  Result<void> finish();

 private:
  explicit ReleaseRoot(UniqueFd root) : m_root(std::move(root)) {}
  // The directory holding `path`'s last component, created with its parents when `create`.
  Result<UniqueFd> parent_of(std::string_view path, bool create) const;

  struct DirMeta {
    unsigned mode = 0755;
    std::int64_t mtime = 0;
  };
  UniqueFd m_root;
  std::map<std::string, DirMeta> m_dirs;
};

}  // namespace ztp::artifact
