#include "engine/env_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fs.hpp"

namespace ztp::engine {
namespace {

std::string holder_of(const std::filesystem::path& path) {
  auto text = fs::read_file(path);
  if (!text.ok() || text->empty()) {
    return "another process";
  }
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

}  // namespace

Result<EnvLock> EnvLock::acquire(const std::filesystem::path& home, const std::string& env,
                                 const std::string& what, bool wait,
                                 const std::function<void(const std::string&)>& on_wait) {
  auto lock =
      acquire_file(home / "locks" / (env + ".lock"), "environment " + env, what, wait, on_wait);
  if (!lock.ok() && lock.error().code == Errc::conflict) {
    return make_error(Errc::conflict,
                      lock.error().message + ", or drop --no-wait to queue behind it");
  }
  return lock;
}

Result<EnvLock> EnvLock::acquire_run(const std::filesystem::path& home, int64_t run_id,
                                     const std::string& what) {
  return acquire_file(home / "locks" / fmt::format("run-{}.lock", run_id),
                      fmt::format("run {}", run_id), what, false, {});
}

Result<EnvLock> EnvLock::acquire_file(const std::filesystem::path& path, const std::string& subject,
                                      const std::string& what, bool wait,
                                      const std::function<void(const std::string&)>& on_wait) {
  ZTP_TRY(fs::ensure_dir(path.parent_path()));
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(Errc::internal, fmt::format("{}: cannot open lock file: {}", path.string(),
                                                  std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      ::close(fd);
      return make_error(Errc::internal,
                        fmt::format("{}: flock failed: {}", path.string(), std::strerror(errno)));
    }
    std::string holder = holder_of(path);
    if (!wait) {
      ::close(fd);
      return make_error(Errc::conflict,
                        fmt::format("{} is locked by {}; wait for it to finish", subject, holder));
    }
    if (on_wait) {
      on_wait(fmt::format("{} is locked by {}; waiting for it to finish", subject, holder));
    }
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd);
        return make_error(Errc::internal,
                          fmt::format("{}: flock failed: {}", path.string(), std::strerror(errno)));
      }
    }
  }
  std::string owner = fmt::format("{} (pid {})\n", what, ::getpid());
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(fd, owner.data(), owner.size(), 0);
  }
  return EnvLock(fd);
}

EnvLock::EnvLock(EnvLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }

EnvLock& EnvLock::operator=(EnvLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = other.m_fd;
    other.m_fd = -1;
  }
  return *this;
}

EnvLock::~EnvLock() {
  if (m_fd >= 0) {
    ::close(m_fd);  // releases the flock
  }
}

}  // namespace ztp::engine
