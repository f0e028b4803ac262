#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <string_view>

#include "target/local/replica_status.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

// `ztp supervise`: one process per local replica that runs the app, restarts it when it
// crashes, rotates its logs, stops it gracefully and records all of it in status.json.
namespace ztp::target::local {

// Limits of the restart policy.
struct RestartLimits {
  int max_restarts = 5;  // more crashes than this within `window` is a crash loop
  std::chrono::milliseconds window = std::chrono::seconds(60);
  std::chrono::milliseconds initial_backoff = std::chrono::milliseconds(100);
  std::chrono::milliseconds max_backoff = std::chrono::seconds(10);
};

// When to restart a crashed app. The delay doubles with each crash inside the window
// (initial, 2x, 4x, ... capped at max_backoff), so it shrinks again once old crashes age out;
// more than max_restarts crashes inside the window is a crash loop.
class RestartPolicy {
 public:
  RestartPolicy(const Clock& clock, RestartLimits limits);
  // Records a crash now: the delay before the next start, or nullopt for a crash loop.
  std::optional<std::chrono::milliseconds> record_crash();
  // Crashes recorded within the window before now.
  int crashes_in_window() const;

 private:
  void prune() const;

  const Clock& m_clock;
  RestartLimits m_limits;
  mutable std::deque<std::chrono::steady_clock::time_point> m_crashes;
};

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

// Checks the options before anything starts: a command, an existing workdir, a usable
// state dir, sane limits. invalid with what to fix.
Result<void> validate(const SuperviseOptions& options);

// Runs the supervisor in this process until it is stopped (SIGTERM or SIGINT): starts the
// command, restarts it, writes status.json and the logs. `ready_fd` (when >= 0) receives
// "ok\n" or "error MESSAGE\n" once the first start succeeded or failed, and is closed.
// Returns an error when the first start fails. Blocks SIGCHLD/SIGTERM/SIGINT/SIGHUP in
// this thread; call it from a single-threaded process.
Result<void> supervise(const SuperviseOptions& options, Clock& clock = system_clock(),
                       int ready_fd = -1);

// Detaches a supervisor for `options` (double fork, new session and process group, stdin
// /dev/null, its own log in supervisor.log) and returns its pid once status.json shows the
// app started. conflict when a live supervisor already owns the state dir. Single-threaded
// callers only (it forks and keeps running the supervisor in the child).
Result<pid_t> start_detached(const SuperviseOptions& options);

}  // namespace ztp::target::local
