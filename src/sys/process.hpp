#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

// Starting processes: a program with its output captured, and a daemon that reports once
// through a ready pipe. Everything a child needs is prepared before fork, so a caller with
// threads is safe: the child makes only async-signal-safe calls until exec.
namespace ztp::sys {

// Writes all of `data` to `fd`, retrying interrupted and partial writes; false when the
// descriptor broke first.
bool write_all(int fd, std::string_view data);

// Closes every file descriptor from 3 up, except those in `keep`.
void close_fds_except(std::initializer_list<int> keep);

// A close-on-exec pipe: [0] reads, [1] writes. The caller closes both.
Result<std::array<int, 2>> make_pipe();

// The executable `program` in one of the directories of `path` (a PATH value; empty entries,
// which would mean the working directory, are skipped), or nullopt.
std::optional<std::filesystem::path> find_on_path(const std::string& program,
                                                  std::string_view path);

// What to start and how.
struct SpawnOptions {
  std::vector<std::string> argv;                // argv[0] is the program
  bool search_path = false;                     // look argv[0] up on PATH
  std::optional<std::vector<std::string>> env;  // "K=V"; nullopt: this process's environment
  std::filesystem::path workdir;                // empty: this process's
  int stdin_fd = -1;                            // -1: /dev/null
  int stdout_fd = -1;                           // -1: /dev/null
  int stderr_fd = -1;                           // -1: /dev/null
  bool new_process_group = false;               // the child leads a group of its own
  int parent_death_signal = 0;                  // sent to the child when its parent dies
};

// Starts a program with default signal handlers and an empty signal mask. A workdir it cannot
// enter or a program it cannot execute is an error here (invalid, naming which and why), told
// through a close-on-exec pipe, not a child that exits 127.
Result<pid_t> spawn(const SpawnOptions& options);

// How a program run to completion ended.
struct Captured {
  int wait_status = 0;  // as waitpid(2) gives it
  std::string out;      // its standard output
  std::string err;      // its standard error
  bool timed_out = false;
};

// Runs a program to its end, capturing its output (options' stdout and stderr are ignored);
// after `timeout` it is killed (SIGKILL) and timed_out is set.
Result<Captured> run_captured(SpawnOptions options, std::chrono::milliseconds timeout);

// How a daemon starts.
struct DetachOptions {
  std::filesystem::path log;               // its stdout and stderr, appended, mode 0600
  std::filesystem::path workdir;           // empty: this process's
  std::chrono::milliseconds wait{15'000};  // for its first report
};

// Runs `body` as a daemon: forked twice (never a session leader, so never a controlling
// terminal), in a new session, stdin /dev/null, output to the log, descriptors above 2 closed
// but the ready pipe given to `body`, whose return value is the daemon's exit code. Returns
// the first line the daemon reported with report_ready (without '\n'), or "" when it exited
// without one; timeout when nothing came within `wait`.
Result<std::string> detach(const DetachOptions& options, const std::function<int(int)>& body);

// Reports `line` through a daemon's ready pipe, once: writes it with a '\n' and closes `fd`
// (set to -1, so a second report does nothing).
void report_ready(int& fd, std::string_view line);

}  // namespace ztp::sys
