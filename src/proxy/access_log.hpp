#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace ztp::proxy {

// The JSON access log file of one environment, opened for appending. Workers never write it
// on the request path: they fill an AccessLogBuffer and flush it from a timer.
class AccessLog {
 public:
  // Opens (creates) `path`; a failure is logged once and lines are dropped.
  explicit AccessLog(std::filesystem::path path);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Appends whole lines with one write (O_APPEND keeps concurrent writers' lines whole).
  void append(std::string_view lines);
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
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
