#include "sys/process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace ztp::sys {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// What a child reports through its close-on-exec pipe when it cannot exec; nothing is written
// when exec succeeds.
struct ChildFailure {
  int stage;  // k_stage_*
  int err;    // errno
};
constexpr int k_stage_chdir = 0;
constexpr int k_stage_exec = 1;

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

Error errno_error(const char* what, int err) {
  return make_error(Errc::internal, fmt::format("{}: {}", what, std::strerror(err)));
}

void close_all(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

// Reads `fd` until end of file, a newline when `line` is set, or the deadline; appends to `out`.
// False when the deadline passed first.
bool read_until(int fd, steady_clock::time_point deadline, bool line, std::string& out) {
  while (!(line && out.find('\n') != std::string::npos)) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n <= 0) {
      continue;
    }
    char buf[4096];
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(r));
  }
  return true;
}

}  // namespace

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void close_fds_except(std::initializer_list<int> keep) {
  std::vector<int> sorted(keep);
  sorted.push_back(2);
  std::sort(sorted.begin(), sorted.end());
  // Close the gaps between the kept descriptors.
  for (size_t i = 0; i < sorted.size(); ++i) {
    unsigned first = static_cast<unsigned>(sorted[i]) + 1;
    unsigned last = i + 1 < sorted.size() ? static_cast<unsigned>(sorted[i + 1]) - 1 : ~0U;
    if (first <= last && sorted[i] >= 2) {
      ::close_range(first, last, 0);
    }
  }
}

Result<std::array<int, 2>> make_pipe() {
  std::array<int, 2> fds{-1, -1};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    return errno_error("pipe", errno);
  }
  return fds;
}

Result<pid_t> spawn(const SpawnOptions& options) {
  if (options.argv.empty()) {
    return make_error(Errc::invalid, "nothing to start: the command is empty");
  }
  std::vector<std::string> args = options.argv;
  std::vector<std::string> env_strings = options.env.value_or(std::vector<std::string>{});
  std::vector<char*> argv = pointers(args);
  std::vector<char*> envp = pointers(env_strings);
  char** env = options.env ? envp.data() : environ;
  ZTP_ASSIGN_OR_RETURN(auto fail, make_pipe());
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    if (options.new_process_group) {
      ::setpgid(0, 0);
    }
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() != parent) {
        _exit(1);  // the parent died before the signal was armed
      }
    }
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) {
        ::signal(sig, SIG_DFL);
      }
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(options.stdin_fd >= 0 ? options.stdin_fd : devnull, 0);
    ::dup2(options.stdout_fd >= 0 ? options.stdout_fd : devnull, 1);
    ::dup2(options.stderr_fd >= 0 ? options.stderr_fd : devnull, 2);
    ChildFailure failure{k_stage_chdir, 0};
    if (!options.workdir.empty() && ::chdir(options.workdir.c_str()) != 0) {
      failure.err = errno;
      (void)!::write(fail[1], &failure, sizeof failure);
      _exit(127);
    }
    if (options.search_path) {
      ::execvpe(argv[0], argv.data(), env);
    } else {
      ::execve(argv[0], argv.data(), env);
    }
    failure = {k_stage_exec, errno};
    (void)!::write(fail[1], &failure, sizeof failure);
    _exit(127);
  }
  int fork_errno = errno;
  close_all({fail[1], devnull});
  if (pid < 0) {
    ::close(fail[0]);
    return errno_error("fork", fork_errno);
  }
  if (options.new_process_group) {
    ::setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
  }
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(fail[0], &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  ::close(fail[0]);
  if (n != static_cast<ssize_t>(sizeof failure)) {
    return pid;
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (failure.stage == k_stage_chdir) {
    return make_error(Errc::invalid,
                      fmt::format("cannot enter workdir {}: {}", options.workdir.string(),
                                  std::strerror(failure.err)));
  }
  std::string where = options.workdir.empty() ? "" : " in " + options.workdir.string();
  return make_error(Errc::invalid,
                    fmt::format("cannot execute '{}'{}: {}; check the command and that it is an "
                                "executable file",
                                options.argv[0], where, std::strerror(failure.err)));
}

std::optional<std::filesystem::path> find_on_path(const std::string& program,
                                                  std::string_view path) {
  while (!path.empty()) {
    size_t colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    path = colon == std::string_view::npos ? std::string_view() : path.substr(colon + 1);
    // An empty entry would mean the working directory: not a place to run a helper from.
    if (dir.empty()) {
      continue;
    }
    std::filesystem::path candidate = std::filesystem::path(dir) / program;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

Result<Captured> run_captured(SpawnOptions options, std::chrono::milliseconds timeout) {
  ZTP_ASSIGN_OR_RETURN(auto out, make_pipe());
  auto err = make_pipe();
  if (!err.ok()) {
    close_all({out[0], out[1]});
    return err.take_error();
  }
  options.stdout_fd = out[1];
  options.stderr_fd = (*err)[1];
  auto pid = spawn(options);
  close_all({out[1], (*err)[1]});
  if (!pid.ok()) {
    close_all({out[0], (*err)[0]});
    return pid.take_error();
  }
  Captured captured;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {(*err)[0], POLLIN, 0}};
  auto deadline = steady_clock::now() + timeout;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) {
      captured.timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char buf[4096];
        ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
        if (r <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
        } else {
          (i == 0 ? captured.out : captured.err).append(buf, static_cast<size_t>(r));
        }
      }
    }
  }
  close_all({fds[0].fd, fds[1].fd});
  if (captured.timed_out) {
    ::kill(*pid, SIGKILL);
  }
  while (::waitpid(*pid, &captured.wait_status, 0) < 0 && errno == EINTR) {
  }
  return captured;
}

Result<std::string> detach(const DetachOptions& options, const std::function<int(int)>& body) {
  ZTP_ASSIGN_OR_RETURN(auto ready, make_pipe());
  pid_t first = ::fork();
  if (first < 0) {
    int e = errno;
    close_all({ready[0], ready[1]});
    return errno_error("fork", e);
  }
  if (first == 0) {
    ::close(ready[0]);
    ::setsid();
    pid_t second = ::fork();
    if (second != 0) {
      _exit(second < 0 ? 1 : 0);
    }
    int ready_fd = ready[1];
    if (!options.workdir.empty() && ::chdir(options.workdir.c_str()) != 0) {
      report_ready(ready_fd, fmt::format("cannot enter {}: {}", options.workdir.string(),
                                         std::strerror(errno)));
      _exit(1);
    }
    int in = ::open("/dev/null", O_RDONLY);
    int log = ::open(options.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || log < 0) {
      report_ready(ready_fd,
                   fmt::format("cannot open {}: {}", options.log.string(), std::strerror(errno)));
      _exit(1);
    }
    ::fchmod(log, 0600);  // a log an older ztp made readable by everyone
    ::dup2(in, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    close_fds_except({ready_fd});
    _exit(body(ready_fd));
  }
  ::close(ready[1]);
  int wstatus = 0;
  while (::waitpid(first, &wstatus, 0) < 0 && errno == EINTR) {
  }
  std::string reply;
  bool in_time = read_until(ready[0], steady_clock::now() + options.wait, true, reply);
  ::close(ready[0]);
  if (!in_time) {
    return make_error(Errc::timeout, fmt::format("no report within {} ms", options.wait.count()));
  }
  return reply.substr(0, reply.find('\n'));
}

void report_ready(int& fd, std::string_view line) {
  if (fd < 0) {
    return;
  }
  std::string text(line);
  text += '\n';
  write_all(fd, text);
  ::close(fd);
  fd = -1;
}

}  // namespace ztp::sys
