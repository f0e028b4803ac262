#include "target/local/rotating_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace ztp::target::local {

RotatingLog::RotatingLog(std::filesystem::path path, uint64_t max_bytes, int files)
    : m_path(std::move(path)), m_max_bytes(std::max<uint64_t>(max_bytes, 1)), m_files(files) {}

RotatingLog::~RotatingLog() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

Result<void> RotatingLog::open() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
  m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (m_fd < 0) {
    return make_error(Errc::internal,
                      fmt::format("{}: cannot open: {}", m_path.string(), std::strerror(errno)));
  }
  struct stat st {};
  m_size = ::fstat(m_fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  if ((st.st_mode & 0777) != 0600) {
    ::fchmod(m_fd, 0600);  // a log an older ztp made readable by everyone
  }
  return {};
}

Result<void> RotatingLog::append(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(m_fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_error(Errc::internal,
                        fmt::format("{}: write failed: {}", m_path.string(), std::strerror(errno)));
    }
    m_size += static_cast<uint64_t>(n);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> RotatingLog::rotate() {
  auto numbered = [&](int i) { return m_path.string() + "." + std::to_string(i); };
  if (m_files <= 0) {
    ::unlink(m_path.c_str());
  } else {
    ::unlink(numbered(m_files).c_str());
    for (int i = m_files - 1; i >= 1; --i) {
      ::rename(numbered(i).c_str(), numbered(i + 1).c_str());
    }
    ::rename(m_path.c_str(), numbered(1).c_str());
  }
  return open();
}

Result<void> RotatingLog::write(std::string_view data) {
  if (m_fd < 0) {
    ZTP_TRY(open());
  }
  while (!data.empty()) {
    uint64_t room = m_size < m_max_bytes ? m_max_bytes - m_size : 0;
    if (data.size() <= room) {
      return append(data);
    }
    // Fill this file with the whole lines that fit; cut a line only when it alone is longer
    // than a file.
    size_t take = 0;
    if (room > 0) {
      size_t nl = data.substr(0, static_cast<size_t>(room)).rfind('\n');
      if (nl != std::string_view::npos) {
        take = nl + 1;
      } else if (m_size == 0) {
        take = static_cast<size_t>(room);
      }
    }
    ZTP_TRY(append(data.substr(0, take)));
    data.remove_prefix(take);
    ZTP_TRY(rotate());
  }
  return {};
}

}  // namespace ztp::target::local
