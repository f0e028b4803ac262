#include <fmt/format.h>
#include <unistd.h>

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
#include "sys/process.hpp"
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
    sys::report_ready(ready_fd, started.error().message);
    std::cerr << "ztp: proxy: " << started.error().message << "\n";
    return exit_code(started.error().code);
  }
  auto pid_file = std::filesystem::path(flags.state_dir) / "proxy.pid";
  auto pid_text = std::to_string(::getpid()) + "\n";
  if (auto w = fs::atomic_write(pid_file, pid_text); !w.ok()) {
    log::warn("cannot write the pid file", {{"error", w.error().message}});
  }
  sys::report_ready(ready_fd, "ok");
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
  sys::DetachOptions options{log_path, {}, k_detach_wait};
  auto answer = sys::detach(options, [&flags](int ready_fd) { return serve(flags, ready_fd); });
  if (!answer.ok() || *answer != "ok") {
    std::string why = !answer.ok()      ? answer.error().message
                      : answer->empty() ? "it exited before serving"
                                        : *answer;
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
  return print_result(
      ctx, Output{.json = {{"pid", pid_text},
                           {"admin_socket", client.socket().string()},
                           {"log", log_path.string()}},
                  .text = fmt::format("proxy running (pid {}), admin socket {}, log {}\n", pid_text,
                                      client.socket().string(), log_path.string()),
                  .json_indent = -1});
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
