#include "proxy/access_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "util/log.hpp"

namespace ztp::proxy {
namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(u));
    } else if (u >= 0x80) {
      // Request targets should be ASCII; escape anything else so the line stays valid JSON.
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(u));
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

AccessLog::AccessLog(std::filesystem::path path) : m_path(std::move(path)) {
  m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (m_fd < 0) {
    log::warn("cannot open the access log; its lines are dropped",
              {{"path", m_path.string()}, {"error", std::strerror(errno)}});
  }
}

AccessLog::~AccessLog() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

void AccessLog::append(std::string_view lines) {
  size_t off = 0;
  while (m_fd >= 0 && off < lines.size()) {
    ssize_t n = ::write(m_fd, lines.data() + off, lines.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    off += static_cast<size_t>(n);
  }
}

void format_access_line(std::string& out, const AccessEntry& e) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  std::time_t t = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  fmt::format_to(std::back_inserter(out),
                 "{{\"ts\":\"{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z\",\"env\":",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 static_cast<int>(ms.count() % 1000));
  append_json_string(out, e.env);
  out += ",\"release\":";
  append_json_string(out, e.release);
  out += ",\"backend\":";
  append_json_string(out, e.backend);
  out += ",\"method\":";
  append_json_string(out, e.method);
  out += ",\"path\":";
  append_json_string(out, e.path);
  fmt::format_to(std::back_inserter(out), ",\"status\":{},\"bytes\":{},\"duration_ms\":{:.3f}",
                 e.status, e.bytes, e.duration_ms);
  out += ",\"request_id\":";
  append_json_string(out, e.request_id);
  out += ",\"client\":";
  append_json_string(out, e.client);
  out += "}\n";
}

}  // namespace ztp::proxy
