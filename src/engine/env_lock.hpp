#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>

#include "sys/file_lock.hpp"
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

  // The lock of run `run_id` (`<home>/locks/run-<id>.lock`): held by the process that drives
  // the run, so another process can tell a run in progress from one whose driver died. Never
  // waits: Errc::conflict naming the holder when it is taken.
  static Result<EnvLock> acquire_run(const std::filesystem::path& home, int64_t run_id,
                                     const std::string& what);

 private:
  static Result<EnvLock> acquire_file(const std::filesystem::path& path, const std::string& subject,
                                      const std::string& what, bool wait,
                                      const std::function<void(const std::string&)>& on_wait);
  explicit EnvLock(sys::FileLock lock) : m_lock(std::move(lock)) {}
  sys::FileLock m_lock;
};

}  // namespace ztp::engine
