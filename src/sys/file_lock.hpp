#pragma once

#include <filesystem>

#include "util/result.hpp"

namespace ztp::sys {

// An exclusive flock(2) on a file, held for as long as the object lives; the kernel drops it
// when the process dies, so a lock never outlives its holder.
class FileLock {
 public:
  // Opens `path` (created 0644 when missing, its folder must exist) and locks it. When another
  // process holds it: waits with `wait`, else conflict. internal when the file cannot be opened.
  static Result<FileLock> acquire(const std::filesystem::path& path, bool wait = true);

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // The locked file, open for reading and writing (to record who holds it).
  int fd() const { return m_fd; }

 private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

}  // namespace ztp::sys
