#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "util/result.hpp"

namespace ztp::engine {

// An exclusive lock on one environment, held by one process (flock on
// `<home>/locks/<env>.lock`), so two rollouts never touch one environment. The kernel drops it
// when the holder dies, so a crash never leaves an environment locked.
class EnvLock {
 public:
  // Takes the lock. When another process holds it: with `wait`, calls `on_wait` once with a
  // description of the holder and blocks until it is free; without, fails with Errc::conflict
  // naming the holder. `what` is recorded for others to see (e.g. "ztp deploy dev").
  static Result<EnvLock> acquire(const std::filesystem::path& home, const std::string& env,
                                 const std::string& what, bool wait,
                                 const std::function<void(const std::string&)>& on_wait = {});

  EnvLock(EnvLock&& other) noexcept;
  EnvLock& operator=(EnvLock&& other) noexcept;
  EnvLock(const EnvLock&) = delete;
  EnvLock& operator=(const EnvLock&) = delete;
  ~EnvLock();

 private:
  explicit EnvLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

}  // namespace ztp::engine
