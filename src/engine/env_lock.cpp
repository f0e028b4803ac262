#include "engine/env_lock.hpp"

#include <fmt/format.h>
#include <unistd.h>

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
  auto lock = sys::FileLock::acquire(path, false);
  if (!lock.ok() && lock.error().code == Errc::conflict) {
    std::string holder = holder_of(path);
    if (!wait) {
      return make_error(Errc::conflict,
                        fmt::format("{} is locked by {}; wait for it to finish", subject, holder));
    }
    if (on_wait) {
      on_wait(fmt::format("{} is locked by {}; waiting for it to finish", subject, holder));
    }
    lock = sys::FileLock::acquire(path, true);
  }
  if (!lock.ok()) {
    return lock.take_error();
  }
  std::string owner = fmt::format("{} (pid {})\n", what, ::getpid());
  if (::ftruncate(lock->fd(), 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(lock->fd(), owner.data(), owner.size(), 0);
  }
  return EnvLock(std::move(*lock));
}

}  // namespace ztp::engine
