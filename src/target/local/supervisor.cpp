#include "target/local/supervisor.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
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

// What the child reports through its close-on-exec pipe when it cannot exec; nothing is
// written when exec succeeds.
struct ChildFailure {
  int stage;  // k_stage_*
  int err;    // errno
};
constexpr int k_stage_chdir = 0;
constexpr int k_stage_exec = 1;

constexpr size_t k_read_chunk = 64 * 1024;

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Reports the first start to whoever waits on `fd` (start_detached), once.
void report_ready(int& fd, std::string_view line) {
  if (fd >= 0) {
    write_all(fd, line);
    ::close(fd);
    fd = -1;
  }
}

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
    for (int fd : {m_signal_fd, m_devnull, m_child_out, m_child_err}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  // `ready_fd` is closed once the first start is reported.
  Result<void> run(int& ready_fd) {
    auto ready = setup();
    if (!ready) {
      report_ready(ready_fd, fmt::format("error internal {}\n", ready.error().message));
      return ready;
    }
    write_status();
    auto started = spawn();
    if (!started) {
      m_status.state = ReplicaState::stopped;
      m_status.error = started.error().message;
      write_status();
      log::error("the app could not start", {{"error", started.error().message}});
      report_ready(ready_fd, fmt::format("error {} {}\n", errc_name(started.error().code),
                                         started.error().message));
      return started;
    }
    report_ready(ready_fd, "ok\n");
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
    m_devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
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

  // argv and envp are built once, so the forked child only makes async-signal-safe calls.
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
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view entry(*e);
      if (names.count(std::string(entry.substr(0, entry.find('=')))) == 0) {
        m_env_strings.emplace_back(entry);
      }
    }
    for (const auto& [k, v] : added) {
      m_env_strings.push_back(k + "=" + v);
    }
    for (auto& s : m_env_strings) {
      m_envp.push_back(s.data());
    }
    m_envp.push_back(nullptr);
    m_argv_strings = m_o.command;
    for (auto& s : m_argv_strings) {
      m_argv.push_back(s.data());
    }
    m_argv.push_back(nullptr);
  }

  // Starts the command. An error says why it could not be executed.
  Result<void> spawn() {
    int out[2];
    int err[2];
    int fail[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      return make_error(Errc::internal, fmt::format("pipe: {}", std::strerror(errno)));
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ::close(out[0]);
      ::close(out[1]);
      return make_error(Errc::internal, fmt::format("pipe: {}", std::strerror(errno)));
    }
    if (::pipe2(fail, O_CLOEXEC) != 0) {
      for (int fd : {out[0], out[1], err[0], err[1]}) {
        ::close(fd);
      }
      return make_error(Errc::internal, fmt::format("pipe: {}", std::strerror(errno)));
    }
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      exec_child(parent, out[1], err[1], fail[1]);
    }
    int fork_errno = errno;
    for (int fd : {out[1], err[1], fail[1]}) {
      ::close(fd);
    }
    if (pid < 0) {
      for (int fd : {out[0], err[0], fail[0]}) {
        ::close(fd);
      }
      return make_error(Errc::internal, fmt::format("fork: {}", std::strerror(fork_errno)));
    }
    ::setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
    ChildFailure failure{};
    ssize_t n;
    do {
      n = ::read(fail[0], &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    ::close(fail[0]);
    if (n == static_cast<ssize_t>(sizeof failure)) {
      int wstatus = 0;
      ::waitpid(pid, &wstatus, 0);
      ::close(out[0]);
      ::close(err[0]);
      if (failure.stage == k_stage_chdir) {
        return make_error(Errc::invalid,
                          fmt::format("cannot enter workdir {}: {}", m_o.workdir.string(),
                                      std::strerror(failure.err)));
      }
      return make_error(
          Errc::invalid,
          fmt::format("cannot execute '{}' in {}: {}; check the command and that "
                      "it is an executable file",
                      m_o.command[0], m_o.workdir.string(), std::strerror(failure.err)));
    }
    m_child = pid;
    m_child_out = out[0];
    m_child_err = err[0];
    ::fcntl(m_child_out, F_SETFL, O_NONBLOCK);
    ::fcntl(m_child_err, F_SETFL, O_NONBLOCK);
    m_status.pid = pid;
    m_status.pid_start_time = process_start_time(pid).value_or(0);
    m_status.started_at = m_clock.wall_now();
    m_status.state = ReplicaState::running;
    m_status.error.clear();
    write_status();
    log::info("app started", {{"app_pid", std::to_string(pid)}});
    return {};
  }

  // In the forked child: only async-signal-safe calls until exec.
  [[noreturn]] void exec_child(pid_t parent, int out, int err, int fail) {
    ::setpgid(0, 0);
    // If the supervisor dies, even by SIGKILL, the app is told to stop.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) {
      _exit(1);
    }
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) {
        ::signal(sig, SIG_DFL);
      }
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(m_devnull, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ChildFailure failure{k_stage_chdir, 0};
    if (::chdir(m_o.workdir.c_str()) != 0) {
      failure.err = errno;
      (void)!::write(fail, &failure, sizeof failure);
      _exit(127);
    }
    ::execvpe(m_argv[0], m_argv.data(), m_envp.data());
    failure = {k_stage_exec, errno};
    (void)!::write(fail, &failure, sizeof failure);
    _exit(127);
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
  int m_devnull = -1;
  pid_t m_child = 0;
  int m_child_out = -1;
  int m_child_err = -1;
  std::optional<steady_clock::time_point> m_restart_at;
  std::optional<steady_clock::time_point> m_kill_at;
  bool m_stop_requested = false;
  std::vector<std::string> m_argv_strings;
  std::vector<char*> m_argv;
  std::vector<std::string> m_env_strings;
  std::vector<char*> m_envp;
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
  report_ready(ready_fd, "error internal the supervisor ended before the app started\n");
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
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    return make_error(Errc::internal, fmt::format("pipe: {}", std::strerror(errno)));
  }
  pid_t first = ::fork();
  if (first < 0) {
    int e = errno;
    ::close(ready[0]);
    ::close(ready[1]);
    return make_error(Errc::internal, fmt::format("fork: {}", std::strerror(e)));
  }
  if (first == 0) {
    ::close(ready[0]);
    ::setsid();
    pid_t second = ::fork();
    if (second != 0) {
      _exit(second < 0 ? 1 : 0);
    }
    // The supervisor: no controlling terminal, not a session leader, so it never gets one.
    if (::chdir("/") != 0) {
      _exit(1);
    }
    int in = ::open("/dev/null", O_RDONLY);
    int logfd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || logfd < 0) {
      _exit(1);
    }
    ::fchmod(logfd, 0600);  // a log an older ztp made readable by everyone
    ::dup2(in, 0);
    ::dup2(logfd, 1);
    ::dup2(logfd, 2);
    close_fds_except({ready[1]});
    auto r = supervise(o, system_clock(), ready[1]);
    _exit(r ? 0 : 1);
  }
  ::close(ready[1]);
  int wstatus = 0;
  while (::waitpid(first, &wstatus, 0) < 0 && errno == EINTR) {
  }
  std::string reply;
  auto deadline = steady_clock::now() + o.start_timeout;
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{ready[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      continue;
    }
    char buf[4096];
    ssize_t r = ::read(ready[0], buf, sizeof buf);
    if (r <= 0) {
      break;
    }
    reply.append(buf, static_cast<size_t>(r));
  }
  ::close(ready[0]);
  if (timed_out) {
    return make_error(
        Errc::timeout,
        fmt::format("{}: the supervisor did not report within {} ms; see {}", o.state_dir.string(),
                    o.start_timeout.count(), log_path.string()));
  }
  if (reply.rfind("ok", 0) == 0) {
    auto status = read_replica_status(o.state_dir);
    if (!status) {
      return status.take_error();
    }
    return status->supervisor_pid;
  }
  if (reply.rfind("error ", 0) == 0) {
    // "error CODE MESSAGE\n"
    std::string rest = reply.substr(6);
    while (!rest.empty() && rest.back() == '\n') {
      rest.pop_back();
    }
    size_t space = rest.find(' ');
    std::string code = rest.substr(0, space);
    std::string message = space == std::string::npos ? "" : rest.substr(space + 1);
    Errc errc = code == "invalid" ? Errc::invalid : Errc::internal;
    return make_error(errc, fmt::format("replica {} of {} ({}): {}", o.replica, o.env,
                                        o.state_dir.string(), message));
  }
  return make_error(Errc::internal,
                    fmt::format("{}: the supervisor exited before starting the app; see {}",
                                o.state_dir.string(), log_path.string()));
}

}  // namespace ztp::target::local
