#include "sys/file_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ztp::sys {

Result<FileLock> FileLock::acquire(const std::filesystem::path& path, bool wait) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(Errc::internal, fmt::format("{}: cannot open the lock file: {}",
                                                  path.string(), std::strerror(errno)));
  }
  FileLock lock(fd);
  while (::flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) {
      continue;
    }
    if (errno == EWOULDBLOCK) {
      return make_error(Errc::conflict,
                        fmt::format("{} is locked by another process", path.string()));
    }
    return make_error(Errc::internal,
                      fmt::format("{}: cannot lock: {}", path.string(), std::strerror(errno)));
  }
  return lock;
}

FileLock::FileLock(FileLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

}  // namespace ztp::sys
