#include "target/local/replica_status.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "sys/process.hpp"
#include "sys/time.hpp"
#include "target/local/process.hpp"
#include "util/duration.hpp"
#include "util/fs.hpp"

namespace ztp::target::local {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr std::array<std::pair<ReplicaState, std::string_view>, 6> k_state_names{{
    {ReplicaState::starting, "starting"},
    {ReplicaState::running, "running"},
    {ReplicaState::backoff, "backoff"},
    {ReplicaState::crashloop, "crashloop"},
    {ReplicaState::stopping, "stopping"},
    {ReplicaState::stopped, "stopped"},
}};

// The grace given to processes after SIGKILL before stop_replica gives up.
constexpr milliseconds k_kill_grace = std::chrono::seconds(5);

json time_json(const std::optional<std::chrono::system_clock::time_point>& t) {
  return t ? json(sys::format_rfc3339(*t)) : json(nullptr);
}

json optional_int(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }

// Polls until `gone()` holds or `timeout` passes.
template <typename F>
bool wait_for(F gone, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (!gone()) {
    if (steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

Errc errc_from_name(std::string_view name) {
  for (Errc c : {Errc::invalid, Errc::not_found, Errc::conflict, Errc::timeout, Errc::unavailable,
                 Errc::internal, Errc::unhealthy, Errc::rolled_back, Errc::refused}) {
    if (errc_name(c) == name) {
      return c;
    }
  }
  return Errc::internal;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

}  // namespace

std::string_view replica_state_name(ReplicaState state) {
  for (const auto& [s, name] : k_state_names) {
    if (s == state) {
      return name;
    }
  }
  return "stopped";
}

Result<ReplicaState> parse_replica_state(std::string_view name) {
  for (const auto& [s, n] : k_state_names) {
    if (n == name) {
      return s;
    }
  }
  return make_error(Errc::invalid, fmt::format("unknown replica state '{}'", name));
}

std::string status_to_json(const ReplicaStatus& s) {
  json last_exit = nullptr;
  if (s.last_exit) {
    last_exit = {{"code", optional_int(s.last_exit->code)},
                 {"signal", optional_int(s.last_exit->signal)},
                 {"at", sys::format_rfc3339(s.last_exit->at)}};
  }
  json j{
      {"supervisor_pid", s.supervisor_pid},
      {"supervisor_start_time", s.supervisor_start_time},
      {"pid", s.pid},
      {"pid_start_time", s.pid_start_time},
      {"state", replica_state_name(s.state)},
      {"restarts", s.restarts},
      {"last_exit", last_exit},
      {"started_at", time_json(s.started_at)},
      {"env", s.env},
      {"release", s.release},
      {"replica", s.replica},
      {"port", s.port},
      {"command", s.command},
      {"workdir", s.workdir},
      {"error", s.error},
  };
  return j.dump(2) + "\n";
}

Result<ReplicaStatus> status_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::invalid, "status is not a JSON object");
  }
  ReplicaStatus s;
  try {
    s.supervisor_pid = j.at("supervisor_pid").get<pid_t>();
    s.supervisor_start_time = j.at("supervisor_start_time").get<uint64_t>();
    s.pid = j.at("pid").get<pid_t>();
    s.pid_start_time = j.at("pid_start_time").get<uint64_t>();
    ZTP_ASSIGN_OR_RETURN(s.state, parse_replica_state(j.at("state").get<std::string>()));
    s.restarts = j.at("restarts").get<int>();
    const json& last = j.at("last_exit");
    if (!last.is_null()) {
      LastExit e;
      if (!last.at("code").is_null()) {
        e.code = last.at("code").get<int>();
      }
      if (!last.at("signal").is_null()) {
        e.signal = last.at("signal").get<int>();
      }
      ZTP_ASSIGN_OR_RETURN(e.at, sys::parse_rfc3339(last.at("at").get<std::string>()));
      s.last_exit = e;
    }
    if (!j.at("started_at").is_null()) {
      ZTP_ASSIGN_OR_RETURN(s.started_at, sys::parse_rfc3339(j.at("started_at").get<std::string>()));
    }
    s.env = j.at("env").get<std::string>();
    s.release = j.at("release").get<std::string>();
    s.replica = j.at("replica").get<int>();
    s.port = j.at("port").get<int>();
    s.command = j.at("command").get<std::vector<std::string>>();
    s.workdir = j.value("workdir", "");
    s.error = j.value("error", "");
  } catch (const json::exception& e) {
    // Reading untrusted input: a missing or mistyped field is an ordinary failure.
    return make_error(Errc::invalid, fmt::format("malformed status: {}", e.what()));
  }
  return s;
}

Result<ReplicaStatus> read_replica_status(const std::filesystem::path& replica_dir) {
  auto path = replica_dir / k_status_file;
  std::string text;
  ZTP_ASSIGN_OR_RETURN(text, fs::read_file(path));
  auto status = status_from_json(text);
  if (!status) {
    return make_error(Errc::invalid,
                      fmt::format("{}: {}; stop the replica's processes and remove the file",
                                  path.string(), status.error().message));
  }
  return status;
}

bool process_alive(pid_t pid, uint64_t start_time) {
  auto stat = read_proc_stat(pid);
  return stat && stat->start_time == start_time && stat->state != 'Z' && stat->state != 'X';
}

Result<void> stop_replica(const std::filesystem::path& replica_dir, milliseconds timeout) {
  auto status = read_replica_status(replica_dir);
  if (!status) {
    if (status.error().code == Errc::not_found) {
      return {};
    }
    return status.take_error();
  }
  const ReplicaStatus& s = *status;
  auto supervisor_gone = [&] { return !process_alive(s.supervisor_pid, s.supervisor_start_time); };
  auto app_gone = [&] { return s.pid == 0 || !process_alive(s.pid, s.pid_start_time); };
  bool forced = false;
  if (!supervisor_gone()) {
    ::kill(s.supervisor_pid, SIGTERM);
    if (!wait_for(supervisor_gone, timeout)) {
      forced = true;
      if (process_alive(s.supervisor_pid, s.supervisor_start_time)) {
        ::kill(s.supervisor_pid, SIGKILL);
      }
    }
  } else if (!app_gone()) {
    // The supervisor died without stopping the app: do its job.
    forced = true;
    signal_group_if_same(s.pid, s.pid_start_time, SIGTERM);
    wait_for(app_gone, timeout);
  }
  if (!app_gone()) {
    forced = true;
    signal_group_if_same(s.pid, s.pid_start_time, SIGKILL);
  }
  if (!wait_for([&] { return supervisor_gone() && app_gone(); }, k_kill_grace)) {
    return make_error(Errc::timeout,
                      fmt::format("replica {}: supervisor {} or app {} still runs after SIGKILL",
                                  replica_dir.string(), s.supervisor_pid, s.pid));
  }
  if (forced) {
    // Nobody is left to record the end: record it here.
    auto last = read_replica_status(replica_dir);
    ReplicaStatus done = last ? *last : s;
    if (done.state != ReplicaState::stopped) {
      done.state = ReplicaState::stopped;
      done.pid = 0;
      done.pid_start_time = 0;
      done.error = "stopped with SIGKILL: the supervisor did not stop in time";
      ZTP_TRY(fs::atomic_write(replica_dir / k_status_file, status_to_json(done)));
    }
  }
  return {};
}

std::vector<std::string> supervise_args(const SuperviseOptions& o) {
  std::vector<std::string> args{"supervise",
                                "--state-dir",
                                o.state_dir.string(),
                                "--workdir",
                                o.workdir.string(),
                                "--env",
                                o.env,
                                "--release",
                                o.release,
                                "--replica",
                                std::to_string(o.replica),
                                "--port",
                                std::to_string(o.port),
                                "--stop-timeout",
                                format_duration(o.stop_timeout),
                                "--max-restarts",
                                std::to_string(o.max_restarts),
                                "--restart-window",
                                format_duration(o.restart_window),
                                "--log-max-bytes",
                                std::to_string(o.log_max_bytes),
                                "--log-files",
                                std::to_string(o.log_files)};
  for (const auto& [k, v] : o.env_vars) {
    args.push_back("--env-var");
    args.push_back(k + "=" + v);
  }
  args.push_back("--");
  args.insert(args.end(), o.command.begin(), o.command.end());
  return args;
}

Result<pid_t> spawn_supervisor(const SuperviseOptions& options) {
  sys::SpawnOptions spawn;
  spawn.argv = {options.ztp_binary.string(), "--output", "json"};
  auto rest = supervise_args(options);
  spawn.argv.insert(spawn.argv.end(), rest.begin(), rest.end());
  auto run = sys::run_captured(std::move(spawn), options.start_timeout);
  std::string where = fmt::format("replica {} of {} ({})", options.replica, options.env,
                                  options.state_dir.string());
  if (!run.ok()) {
    return make_error(Errc::internal, fmt::format("{}: {}", where, run.error().message));
  }
  const std::string& out_text = run->out;
  int wstatus = run->wait_status;
  if (run->timed_out) {
    (void)stop_replica(options.state_dir, options.stop_timeout);
    return make_error(Errc::timeout,
                      fmt::format("{}: the supervisor did not report the app started within {} "
                                  "ms; see {}",
                                  where, options.start_timeout.count(),
                                  (options.state_dir / k_supervisor_log).string()));
  }
  json reply = json::parse(out_text, nullptr, false);
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && reply.is_object() &&
      reply.contains("supervisor_pid")) {
    return reply["supervisor_pid"].get<pid_t>();
  }
  if (reply.is_object() && reply.contains("error")) {
    return make_error(errc_from_name(reply["error"].value("code", "internal")),
                      reply["error"].value("message", "unknown error"));
  }
  return make_error(Errc::internal, fmt::format("{}: `ztp supervise` failed: {}", where,
                                                trim(run->err + out_text)));
}

}  // namespace ztp::target::local
