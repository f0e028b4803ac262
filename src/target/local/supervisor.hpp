#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "target/local/replica_status.hpp"
#include "target/local/restart_policy.hpp"
#include "target/local/rotating_log.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

// `ztp supervise`: one process per local replica that runs the app, restarts it when it
// crashes, rotates its logs, stops it gracefully and records all of it in status.json.
namespace ztp::target::local {

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
