#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace ztp::proxy {

// How an access log is rotated: by size, keeping a number of files.
struct AccessLogRotation {
  uint64_t max_bytes = 64ull * 1024 * 1024;  // rotate once the file reaches this; 0: never
  unsigned files = 5;  // files kept, the current one included: path, path.1 … path.(files-1)
};

// The JSON access log file of one environment, opened for appending. Workers never write it
// on the request path: each fills its own buffer (WorkerEnv::log_buffer) and a timer flushes
// it with append(). The control thread calls maintain(), which rotates the file by size and
// reopens it when it was moved away (logrotate); workers never wait for it.
class AccessLog {
 public:
  // Opens (creates) `path`; a failure is logged once and lines are dropped.
  explicit AccessLog(std::filesystem::path path, AccessLogRotation rotation = {});
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Appends whole lines with one write (O_APPEND keeps concurrent writers' lines whole).
  // Without `wait`, returns false at once when the file is being swapped by maintain(): the
  // caller keeps the lines and tries again later. Lines a failing disk refuses are dropped.
  bool append(std::string_view lines, bool wait = false);
  // Control thread: rotates when the file has reached max_bytes (path.N-2 -> path.N-1, …,
  // path -> path.1, then a new path) and reopens `path` when it no longer names the open file.
  // Lines written meanwhile land in the renamed file, so none is lost.
  void maintain();
  const std::filesystem::path& path() const { return m_path; }
  // `path` with the rotation suffix `n` (path.n); path itself for 0.
  static std::filesystem::path rotated(const std::filesystem::path& path, unsigned n);

 private:
  int open_file() const;
  void rotate();
  void swap_fd(int fd);

  std::filesystem::path m_path;
  AccessLogRotation m_rotation;
  std::shared_mutex m_mu;  // shared: writers; exclusive: swapping m_fd
  int m_fd = -1;
};

// One access-log entry.
struct AccessEntry {
  std::string_view env;
  std::string_view release;
  std::string_view backend;
  std::string_view method;
  std::string_view path;
  int status = 0;
  uint64_t bytes = 0;
  double duration_ms = 0;
  std::string_view request_id;
  std::string_view client;
};

// Appends `e` to `out` as one JSON object and a newline.
void format_access_line(std::string& out, const AccessEntry& e);

}  // namespace ztp::proxy
