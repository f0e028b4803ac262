#include "target/local/supervisor.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "sys/process.hpp"
#include "target/local/process.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

extern char** environ;

namespace ztp::target::local {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// ---- validation -------------------------------------------------------------------------

Result<void> validate(const SuperviseOptions& o) {
  auto bad = [](std::string message) { return make_error(Errc::invalid, std::move(message)); };
  if (o.command.empty() || o.command[0].empty()) {
    return bad("no command to supervise: give it after `--`, e.g. `ztp supervise ... -- ./server`");
  }
  if (o.state_dir.empty()) {
    return bad("--state-dir is required: the replica's directory for status and logs");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(o.workdir, ec)) {
    return bad(fmt::format(
        "workdir {}: no such directory; --workdir must be the replica's release directory",
        o.workdir.string()));
  }
  if (o.port < 0 || o.port > 65535) {
    return bad(fmt::format("--port {}: must be within 1-65535 (0: no PORT)", o.port));
  }
  if (o.replica < 0) {
    return bad(fmt::format("--replica {}: must be 0 or more", o.replica));
  }
  if (o.max_restarts < 0) {
    return bad(fmt::format("--max-restarts {}: must be 0 or more", o.max_restarts));
  }
  if (o.restart_window.count() <= 0) {
    return bad("--restart-window must be longer than 0");
  }
  if (o.stop_timeout.count() < 0) {
    return bad("--stop-timeout must not be negative");
  }
  if (o.log_max_bytes < 1024) {
    return bad(fmt::format("--log-max-bytes {}: must be at least 1024", o.log_max_bytes));
  }
  if (o.log_files < 0 || o.log_files > 100) {
    return bad(fmt::format("--log-files {}: must be within 0-100", o.log_files));
  }
  for (const auto& [k, v] : o.env_vars) {
    if (k.empty() || k.find('=') != std::string::npos) {
      return bad(fmt::format("--env-var '{}={}': the name must be non-empty, without '='", k, v));
    }
  }
  return {};
}

// ---- the supervisor ---------------------------------------------------------------------

namespace {

constexpr size_t k_read_chunk = 64 * 1024;

class Supervisor {
 public:
  Supervisor(const SuperviseOptions& options, Clock& clock)
      : m_o(options),
        m_clock(clock),
        m_policy(clock, RestartLimits{options.max_restarts, options.restart_window,
                                      milliseconds(100), std::chrono::seconds(10)}),
        m_out(options.state_dir / k_stdout_log, options.log_max_bytes, options.log_files),
        m_err(options.state_dir / k_stderr_log, options.log_max_bytes, options.log_files) {}

  ~Supervisor() {
    for (int fd : {m_signal_fd, m_child_out, m_child_err}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  // `ready_fd` is closed once the first start is reported.
  Result<void> run(int& ready_fd) {
    auto ready = setup();
    if (!ready) {
      sys::report_ready(ready_fd, fmt::format("error internal {}", ready.error().message));
      return ready;
    }
    write_status();
    auto started = spawn();
    if (!started) {
      m_status.state = ReplicaState::stopped;
      m_status.error = started.error().message;
      write_status();
      log::error("the app could not start", {{"error", started.error().message}});
      sys::report_ready(ready_fd, fmt::format("error {} {}", errc_name(started.error().code),
                                              started.error().message));
      return started;
    }
    sys::report_ready(ready_fd, "ok");
    while (m_status.state != ReplicaState::stopped) {
      wait_and_dispatch();
    }
    log::info("supervisor stopped");
    return {};
  }

 private:
  Result<void> setup() {
    ZTP_TRY(fs::ensure_dir(m_o.state_dir));
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGCHLD, SIG_DFL);  // an inherited SIG_IGN would reap children behind our back
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) {
      sigaddset(&set, sig);
    }
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    m_signal_fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (m_signal_fd < 0) {
      return make_error(Errc::internal, fmt::format("signalfd: {}", std::strerror(errno)));
    }
    ZTP_TRY(m_out.open());
    ZTP_TRY(m_err.open());

    m_status.supervisor_pid = ::getpid();
    m_status.supervisor_start_time = process_start_time(::getpid()).value_or(0);
    m_status.state = ReplicaState::starting;
    m_status.env = m_o.env;
    m_status.release = m_o.release;
    m_status.replica = m_o.replica;
    m_status.port = m_o.port;
    m_status.command = m_o.command;
    m_status.workdir = m_o.workdir.string();
    ZTP_TRY(fs::atomic_write(m_o.state_dir / k_supervisor_pid_file,
                             fmt::format("{}\n", m_status.supervisor_pid)));
    prepare_exec();
    log::info("supervisor started", {{"pid", std::to_string(m_status.supervisor_pid)},
                                     {"command", fmt::format("{}", fmt::join(m_o.command, " "))}});
    return {};
  }

  // What the app is started with, built once: the command, and this process's environment
  // with ZTP_ENV, ZTP_RELEASE, ZTP_REPLICA, PORT and the replica's variables over it.
  void prepare_exec() {
    std::vector<std::pair<std::string, std::string>> added{
        {"ZTP_ENV", m_o.env},
        {"ZTP_RELEASE", m_o.release},
        {"ZTP_REPLICA", std::to_string(m_o.replica)},
    };
    if (m_o.port > 0) {
      added.emplace_back("PORT", std::to_string(m_o.port));
    }
    added.insert(added.end(), m_o.env_vars.begin(), m_o.env_vars.end());
    std::set<std::string> names;
    for (const auto& [k, v] : added) {
      names.insert(k);
    }
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view entry(*e);
      if (names.count(std::string(entry.substr(0, entry.find('=')))) == 0) {
        env.emplace_back(entry);
      }
    }
    for (const auto& [k, v] : added) {
      env.push_back(k + "=" + v);
    }
    m_spawn.argv = m_o.command;
    m_spawn.search_path = true;
    m_spawn.env = std::move(env);
    m_spawn.workdir = m_o.workdir;
    m_spawn.new_process_group = true;
    // If the supervisor dies, even by SIGKILL, the app is told to stop.
    m_spawn.parent_death_signal = SIGTERM;
  }

  // Starts the command. An error says why it could not be executed.
  Result<void> spawn() {
    ZTP_ASSIGN_OR_RETURN(auto out, sys::make_pipe());
    auto err = sys::make_pipe();
    if (!err.ok()) {
      ::close(out[0]);
      ::close(out[1]);
      return err.take_error();
    }
    m_spawn.stdout_fd = out[1];
    m_spawn.stderr_fd = (*err)[1];
    auto pid = sys::spawn(m_spawn);
    ::close(out[1]);
    ::close((*err)[1]);
    if (!pid.ok()) {
      ::close(out[0]);
      ::close((*err)[0]);
      return pid.take_error();
    }
    m_child = *pid;
    m_child_out = out[0];
    m_child_err = (*err)[0];
    ::fcntl(m_child_out, F_SETFL, O_NONBLOCK);
    ::fcntl(m_child_err, F_SETFL, O_NONBLOCK);
    m_status.pid = *pid;
    m_status.pid_start_time = process_start_time(*pid).value_or(0);
    m_status.started_at = m_clock.wall_now();
    m_status.state = ReplicaState::running;
    m_status.error.clear();
    write_status();
    log::info("app started", {{"app_pid", std::to_string(*pid)}});
    return {};
  }

  void wait_and_dispatch() {
    int timeout = -1;
    auto deadline = m_restart_at ? m_restart_at : m_kill_at;
    if (deadline) {
      auto left = std::chrono::ceil<milliseconds>(*deadline - m_clock.now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd fds[3] = {{m_signal_fd, POLLIN, 0}, {m_child_out, POLLIN, 0}, {m_child_err, POLLIN, 0}};
    int n = ::poll(fds, 3, timeout);
    if (n < 0 && errno != EINTR) {
      log::error("poll failed", {{"error", std::strerror(errno)}});
      m_clock.sleep_for(milliseconds(100));
      return;
    }
    if (n > 0) {
      if (fds[1].revents != 0) {
        pump(m_child_out, m_out);
      }
      if (fds[2].revents != 0) {
        pump(m_child_err, m_err);
      }
      if (fds[0].revents != 0) {
        read_signals();
      }
    }
    auto now = m_clock.now();
    if (m_restart_at && now >= *m_restart_at) {
      m_restart_at.reset();
      restart();
    }
    if (m_kill_at && now >= *m_kill_at) {
      m_kill_at.reset();
      if (m_child > 0) {
        log::warn("the app did not stop in time: SIGKILL",
                  {{"stop_timeout_ms", std::to_string(m_o.stop_timeout.count())}});
        ::kill(-m_child, SIGKILL);
      }
    }
  }

  // Copies what the app wrote into its log; closes the pipe at end of file.
  void pump(int& fd, RotatingLog& log) {
    if (fd < 0) {
      return;
    }
    char buf[k_read_chunk];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      if (auto r = log.write(std::string_view(buf, static_cast<size_t>(n))); !r) {
        log::warn("cannot write the app's log", {{"error", r.error().message}});
      }
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      ::close(fd);
      fd = -1;
    }
  }

  // Logs what is left in the pipes of an app that exited, then closes them.
  void drain_pipes() {
    for (auto [fd, log] : {std::pair<int*, RotatingLog*>{&m_child_out, &m_out},
                           std::pair<int*, RotatingLog*>{&m_child_err, &m_err}}) {
      // Bounded: anything still writing into the pipe was just killed.
      for (int i = 0; i < 64 && *fd >= 0; ++i) {
        pollfd p{*fd, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) {
          break;
        }
        pump(*fd, *log);
      }
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
    }
  }

  void read_signals() {
    signalfd_siginfo info{};
    while (::read(m_signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) {
        reap();
      } else if (sig == SIGTERM || sig == SIGINT) {
        begin_stop(sig);
      } else {
        log::info("signal ignored", {{"signal", strsignal(sig)}});
      }
    }
  }

  void reap() {
    int wstatus = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &wstatus, WNOHANG)) > 0) {
      if (pid == m_child) {
        on_child_exit(wstatus);
      }
    }
  }

  void on_child_exit(int wstatus) {
    LastExit e;
    if (WIFEXITED(wstatus)) {
      e.code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
      e.signal = WTERMSIG(wstatus);
    }
    e.at = m_clock.wall_now();
    // The app's process group is the unit: what it left behind goes with it.
    ::kill(-m_child, SIGKILL);
    drain_pipes();
    log::info("app exited", {{"app_pid", std::to_string(m_child)},
                             {"code", e.code ? std::to_string(*e.code) : "-"},
                             {"signal", e.signal ? std::to_string(*e.signal) : "-"}});
    m_child = 0;
    m_status.last_exit = e;
    m_status.pid = 0;
    m_status.pid_start_time = 0;
    m_status.started_at.reset();
    if (m_stop_requested) {
      m_kill_at.reset();
      m_status.state = ReplicaState::stopped;
      write_status();
      return;
    }
    on_crash();
  }

  // `cause`: why the last start failed, when it was not the app that exited.
  void on_crash(const std::string& cause = {}) {
    auto delay = m_policy.record_crash();
    if (!delay) {
      m_status.state = ReplicaState::crashloop;
      m_status.error = fmt::format(
          "{}the app crashed more than {} times within {} ms: not restarting; see {} and {}, "
          "fix the app, then stop and start the replica",
          cause.empty() ? "" : cause + "; ", m_o.max_restarts, m_o.restart_window.count(),
          (m_o.state_dir / k_stderr_log).string(), (m_o.state_dir / k_stdout_log).string());
      log::error("crash loop", {{"error", m_status.error}});
    } else {
      m_status.error = cause;
      m_status.state = ReplicaState::backoff;
      m_restart_at = m_clock.now() + *delay;
      log::warn("app crashed: restarting", {{"delay_ms", std::to_string(delay->count())}});
    }
    write_status();
  }

  void restart() {
    ++m_status.restarts;
    auto started = spawn();
    if (!started) {
      m_status.last_exit = LastExit{127, std::nullopt, m_clock.wall_now()};
      log::error("the app could not be restarted", {{"error", started.error().message}});
      on_crash(started.error().message);
    }
  }

  void begin_stop(int sig) {
    if (m_stop_requested) {
      // A second request does not wait for the stop timeout.
      if (m_child > 0) {
        ::kill(-m_child, SIGKILL);
      }
      return;
    }
    m_stop_requested = true;
    m_restart_at.reset();
    log::info("stopping", {{"signal", strsignal(sig)}});
    if (m_child > 0) {
      ::kill(-m_child, SIGTERM);
      m_kill_at = m_clock.now() + m_o.stop_timeout;
      m_status.state = ReplicaState::stopping;
    } else {
      m_status.state = ReplicaState::stopped;
    }
    write_status();
  }

  void write_status() {
    auto r = fs::atomic_write(m_o.state_dir / k_status_file, status_to_json(m_status));
    if (!r) {
      log::warn("cannot write the status", {{"error", r.error().message}});
    }
  }

  SuperviseOptions m_o;
  Clock& m_clock;
  RestartPolicy m_policy;
  RotatingLog m_out;
  RotatingLog m_err;
  ReplicaStatus m_status;
  int m_signal_fd = -1;
  pid_t m_child = 0;
  int m_child_out = -1;
  int m_child_err = -1;
  std::optional<steady_clock::time_point> m_restart_at;
  std::optional<steady_clock::time_point> m_kill_at;
  bool m_stop_requested = false;
  sys::SpawnOptions m_spawn;
};

// Keeps the supervisor's own log small: one previous generation.
void rotate_supervisor_log(const std::filesystem::path& path, uint64_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) > max_bytes && !ec) {
    std::filesystem::rename(path, path.string() + ".1", ec);
  }
}

}  // namespace

Result<void> supervise(const SuperviseOptions& options, Clock& clock, int ready_fd) {
  log::Scope scope{{"env", options.env}, {"replica", std::to_string(options.replica)}};
  Supervisor supervisor(options, clock);
  auto r = supervisor.run(ready_fd);
  sys::report_ready(ready_fd, "error internal the supervisor ended before the app started");
  return r;
}

Result<pid_t> start_detached(const SuperviseOptions& options) {
  SuperviseOptions o = options;
  std::error_code ec;
  o.state_dir = std::filesystem::absolute(o.state_dir, ec);
  o.workdir = std::filesystem::absolute(o.workdir, ec);
  ZTP_TRY(validate(o));
  ZTP_TRY(fs::ensure_dir(o.state_dir));
  if (auto existing = read_replica_status(o.state_dir);
      existing && process_alive(existing->supervisor_pid, existing->supervisor_start_time)) {
    return make_error(Errc::conflict,
                      fmt::format("{} is already supervised by pid {} (state {}); stop that "
                                  "replica first",
                                  o.state_dir.string(), existing->supervisor_pid,
                                  replica_state_name(existing->state)));
  }
  auto log_path = o.state_dir / k_supervisor_log;
  rotate_supervisor_log(log_path, o.log_max_bytes);
  sys::DetachOptions detach{log_path, "/", o.start_timeout};
  auto reply = sys::detach(detach, [&o](int ready_fd) {
    // The supervisor: no controlling terminal, not a session leader, so it never gets one.
    auto r = supervise(o, system_clock(), ready_fd);
    return r ? 0 : 1;
  });
  if (!reply.ok()) {
    if (reply.error().code == Errc::timeout) {
      return make_error(
          Errc::timeout,
          fmt::format("{}: the supervisor did not report within {} ms; see {}",
                      o.state_dir.string(), o.start_timeout.count(), log_path.string()));
    }
    return reply.take_error();
  }
  if (reply->rfind("ok", 0) == 0) {
    ReplicaStatus status;
    ZTP_ASSIGN_OR_RETURN(status, read_replica_status(o.state_dir));
    return status.supervisor_pid;
  }
  if (reply->rfind("error ", 0) == 0) {
    // "error CODE MESSAGE"
    std::string rest = reply->substr(6);
    size_t space = rest.find(' ');
    std::string code = rest.substr(0, space);
    std::string message = space == std::string::npos ? "" : rest.substr(space + 1);
    Errc errc = code == "invalid" ? Errc::invalid : Errc::internal;
    return make_error(errc, fmt::format("replica {} of {} ({}): {}", o.replica, o.env,
                                        o.state_dir.string(), message));
  }
  std::string why = reply->empty() ? "the supervisor exited before starting the app" : *reply;
  return make_error(Errc::internal,
                    fmt::format("{}: {}; see {}", o.state_dir.string(), why, log_path.string()));
}

}  // namespace ztp::target::local
