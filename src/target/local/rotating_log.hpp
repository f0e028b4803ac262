#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "util/result.hpp"

namespace ztp::target::local {

// An append-only log file rotated by size: when a write would take `path` past `max_bytes`,
// path.N-1 becomes path.N (path.N is dropped), ..., path becomes path.1, and a new path starts.
// Lines are kept whole when they fit in one file. With `files` 0 the file is just truncated.
class RotatingLog {
 public:
  RotatingLog(std::filesystem::path path, uint64_t max_bytes, int files);
  ~RotatingLog();
  RotatingLog(const RotatingLog&) = delete;
  RotatingLog& operator=(const RotatingLog&) = delete;

  // Opens (appending to) the file; an error says which file and why.
  Result<void> open();
  // Appends `data`, rotating as needed.
  Result<void> write(std::string_view data);

 private:
  Result<void> rotate();
  Result<void> append(std::string_view data);

  std::filesystem::path m_path;
  uint64_t m_max_bytes;
  int m_files;
  int m_fd = -1;
  uint64_t m_size = 0;
};

}  // namespace ztp::target::local
