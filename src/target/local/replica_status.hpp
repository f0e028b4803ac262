#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/fs.hpp"
#include "util/result.hpp"

// What the local target needs to know about `ztp supervise`: how to start one for a replica,
// how to read what it reports in the replica's directory, and how to stop it.
namespace ztp::target::local {

// The files a supervisor keeps in its replica directory.
inline constexpr std::string_view k_status_file = "status.json";
inline constexpr std::string_view k_supervisor_pid_file = "supervisor.pid";
inline constexpr std::string_view k_stdout_log = "stdout.log";
inline constexpr std::string_view k_stderr_log = "stderr.log";
inline constexpr std::string_view k_supervisor_log = "supervisor.log";

// How one replica is run and supervised: the flags of `ztp supervise`.
struct SuperviseOptions {
  std::filesystem::path state_dir;  // the replica's directory: status, logs (created if missing)
  std::filesystem::path workdir;    // where the command runs (the release directory)
  std::string env;                  // ZTP_ENV
  std::string release;              // ZTP_RELEASE
  int replica = 0;                  // ZTP_REPLICA
  int port = 0;                     // PORT (0: the app gets no PORT)
  std::chrono::milliseconds stop_timeout = std::chrono::seconds(10);  // SIGTERM, then SIGKILL
  int max_restarts = 5;  // crashes allowed within restart_window before `crashloop`
  std::chrono::milliseconds restart_window = std::chrono::seconds(60);
  uint64_t log_max_bytes = 10 * 1024 * 1024;  // per log file, then it is rotated
  int log_files = 3;                          // rotated files kept: stdout.log.1 .. .N
  std::vector<std::pair<std::string, std::string>> env_vars;  // more environment variables
  std::vector<std::string> command;                           // argv; [0] is searched on PATH

  // spawn_supervisor only: the ztp binary to run (the default, this process's executable by
  // its real path, is right when the caller is the ztp binary itself) and how long to wait for
  // the supervisor to report the app started.
  std::filesystem::path ztp_binary = fs::self_executable();
  std::chrono::milliseconds start_timeout = std::chrono::seconds(30);
};

// The life of a supervised replica (see docs/supervise.md).
enum class ReplicaState { starting, running, backoff, crashloop, stopping, stopped };

// "starting", "running", ...
std::string_view replica_state_name(ReplicaState state);
// The state named `name`; invalid for an unknown name.
Result<ReplicaState> parse_replica_state(std::string_view name);

// How the app's last process ended: an exit code, or the signal that killed it.
struct LastExit {
  std::optional<int> code;
  std::optional<int> signal;
  std::chrono::system_clock::time_point at;
  bool operator==(const LastExit&) const = default;
};

// The content of REPLICA_DIR/status.json, rewritten atomically by the supervisor on every
// change. Start times are field 22 of /proc/PID/stat: a pid names a process only together
// with its start time (pids are reused).
struct ReplicaStatus {
  pid_t supervisor_pid = 0;
  uint64_t supervisor_start_time = 0;
  pid_t pid = 0;  // the app's process (and process group); 0 when none runs
  uint64_t pid_start_time = 0;
  ReplicaState state = ReplicaState::starting;
  int restarts = 0;  // restarts after crashes since the supervisor started
  std::optional<LastExit> last_exit;
  std::optional<std::chrono::system_clock::time_point> started_at;  // of the current process
  std::string env;
  std::string release;
  int replica = 0;
  int port = 0;
  std::vector<std::string> command;
  std::string workdir;
  std::string error;  // why it is in crashloop or failed to start; empty otherwise
  bool operator==(const ReplicaStatus&) const = default;
};

// The status as the JSON object of status.json.
std::string status_to_json(const ReplicaStatus& status);
// Parses status.json content; invalid (with what is wrong) when malformed.
Result<ReplicaStatus> status_from_json(std::string_view text);

// Reads REPLICA_DIR/status.json. not_found when no supervisor ever wrote one there.
Result<ReplicaStatus> read_replica_status(const std::filesystem::path& replica_dir);

// True only when `pid` exists, is not a zombie, and started at `start_time` (so a recycled
// pid reads as dead).
bool process_alive(pid_t pid, uint64_t start_time);

// Stops the replica of `replica_dir`: SIGTERM to its supervisor (which stops the app within
// its --stop-timeout and records `stopped`), waits up to `timeout` for the supervisor to exit,
// then SIGKILLs the supervisor and the app's process group. Ok when nothing runs there
// (also when there is no status file); timeout when even SIGKILL did not end them.
Result<void> stop_replica(const std::filesystem::path& replica_dir,
                          std::chrono::milliseconds timeout);

// The arguments of `ztp supervise` (without the binary) for `options`.
std::vector<std::string> supervise_args(const SuperviseOptions& options);

// Starts `options.ztp_binary supervise ...` detached for a replica and returns the
// supervisor's pid once its status shows the app started. The error says why it could not
// start (bad workdir, the command could not be executed, already supervised, ...).
// Safe to call from a multi-threaded process.
Result<pid_t> spawn_supervisor(const SuperviseOptions& options);

}  // namespace ztp::target::local
