#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.hpp"
#include "proxy/admin_client.hpp"
#include "proxy/proxy.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace ztp::cli {
namespace {

struct ProxyFlags {
  std::string state_dir;
  unsigned threads = 0;
  bool detach = false;
  bool takeover = false;
  proxy::AccessLogRotation access_log;
};

// How long `--detach` waits for the proxy to answer (a takeover waits for the old one to drain).
constexpr auto k_detach_wait = std::chrono::seconds(120);

void write_all(int fd, const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    off += static_cast<size_t>(n);
  }
}

// Runs the proxy in this process until it shuts down; `ready_fd` (when >= 0) receives "ok\n"
// once it serves, or the reason it could not start.
int serve(const ProxyFlags& flags, int ready_fd) {
  proxy::ProxyOptions options;
  options.state_dir = flags.state_dir;
  options.threads = flags.threads;
  options.takeover = flags.takeover;
  options.handle_signals = true;
  options.access_log = flags.access_log;
  proxy::Proxy p(options);
  auto started = p.start();
  if (!started.ok()) {
    if (ready_fd >= 0) {
      write_all(ready_fd, started.error().message + "\n");
      ::close(ready_fd);
    }
    std::cerr << "ztp: proxy: " << started.error().message << "\n";
    return exit_code(started.error().code);
  }
  auto pid_file = std::filesystem::path(flags.state_dir) / "proxy.pid";
  auto pid_text = std::to_string(::getpid()) + "\n";
  if (auto w = fs::atomic_write(pid_file, pid_text); !w.ok()) {
    log::warn("cannot write the pid file", {{"error", w.error().message}});
  }
  if (ready_fd >= 0) {
    write_all(ready_fd, "ok\n");
    ::close(ready_fd);
  }
  p.wait();
  auto current = fs::read_file(pid_file);
  if (current.ok() && *current == pid_text) {
    std::error_code ec;
    std::filesystem::remove(pid_file, ec);
  }
  return 0;
}

// Starts the proxy as a daemon (double fork, new session, output to proxy.log) and returns
// once it answers on its admin socket.
int detach(const Context& ctx, const ProxyFlags& flags) {
  auto log_path = std::filesystem::path(flags.state_dir) / "proxy.log";
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    return report(ctx, make_error(Errc::internal, std::string("pipe: ") + std::strerror(errno)));
  }
  pid_t child = ::fork();
  if (child < 0) {
    return report(ctx, make_error(Errc::internal, std::string("fork: ") + std::strerror(errno)));
  }
  if (child == 0) {
    ::close(ready[0]);
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild != 0) {
      _exit(grandchild < 0 ? 1 : 0);
    }
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0) {
      write_all(ready[1],
                fmt::format("cannot open {}: {}\n", log_path.string(), std::strerror(errno)));
      _exit(1);
    }
    ::fchmod(out, 0600);  // a log an older ztp made readable by everyone
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::close(in);
    ::close(out);
    _exit(serve(flags, ready[1]));
  }
  ::close(ready[1]);
  int status = 0;
  ::waitpid(child, &status, 0);

  std::string answer;
  auto deadline = std::chrono::steady_clock::now() + k_detach_wait;
  while (answer.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      break;
    }
    pollfd p{ready[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char buf[512];
    ssize_t n = ::read(ready[0], buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(ready[0]);
  if (answer != "ok\n") {
    std::string why =
        answer.empty() ? "it exited before serving" : answer.substr(0, answer.find('\n'));
    return report(
        ctx, make_error(Errc::internal, fmt::format("the proxy did not start: {} (see {})", why,
                                                    log_path.string())));
  }
  proxy::AdminClient client(proxy::AdminClient::socket_path(flags.state_dir));
  if (auto ping = client.ping(); !ping.ok()) {
    return report(ctx, ping.error());
  }
  auto pid = fs::read_file(std::filesystem::path(flags.state_dir) / "proxy.pid");
  std::string pid_text = pid.ok() ? pid->substr(0, pid->find('\n')) : std::string("?");
  if (ctx.globals.json()) {
    std::cout << nlohmann::json{{"pid", pid_text},
                                {"admin_socket", client.socket().string()},
                                {"log", log_path.string()}}
                     .dump()
              << "\n";
  } else {
    std::cout << fmt::format("proxy running (pid {}), admin socket {}, log {}\n", pid_text,
                             client.socket().string(), log_path.string());
  }
  return 0;
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<ProxyFlags>();
  auto* cmd = root.add_subcommand(
      "proxy",
      "Run the front-door proxy of the local target: one listener per environment, weighted "
      "routing across release sets, health checks, draining; controlled through "
      "<state-dir>/admin.sock");
  cmd->add_option("--state-dir", flags->state_dir,
                  "Directory of admin.sock, routes.json, access logs (e.g. .ztp/proxy)")
      ->required();
  cmd->add_option("--threads", flags->threads, "Event-loop threads (default: one per core)")
      ->check(CLI::Range(0u, 1024u));
  cmd->add_option("--access-log-max-size", flags->access_log.max_bytes,
                  "Rotate an access log once it reaches this size, e.g. 64MiB (default); 0: never")
      ->transform(CLI::AsSizeValue(false));
  cmd->add_option("--access-log-files", flags->access_log.files,
                  "Access-log files kept per environment, the current one included (default 5)")
      ->check(CLI::Range(2u, 1000u));
  cmd->add_flag("--detach", flags->detach,
                "Run in the background (log to <state-dir>/proxy.log, pid in proxy.pid); "
                "return once it answers");
  cmd->add_flag("--takeover", flags->takeover,
                "Take the listeners over from the running proxy without dropping a "
                "connection, then let it drain and exit");
  cmd->callback([&ctx, flags] {
    std::error_code ec;
    auto dir = std::filesystem::absolute(flags->state_dir, ec);
    if (!ec) {
      flags->state_dir = dir.lexically_normal().string();
    }
    if (auto made = fs::ensure_dir(flags->state_dir); !made.ok()) {
      ctx.exit_code = report(ctx, made.error());
      return;
    }
    ctx.exit_code = flags->detach ? detach(ctx, *flags) : serve(*flags, -1);
  });
}

const Registration k_registration{90, setup};

}  // namespace
}  // namespace ztp::cli
