#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "target/local/process.hpp"
#include "target/local/replica_status.hpp"
#include "target/local/supervisor.hpp"
#include "util/duration.hpp"

namespace ztp::cli {
namespace {

namespace local = ztp::target::local;

struct SuperviseFlags {
  local::SuperviseOptions options;
  std::string stop_timeout = "10s";
  std::string restart_window = "60s";
  std::vector<std::string> env_vars;
  bool foreground = false;
};

Result<local::SuperviseOptions> resolve(const SuperviseFlags& flags) {
  local::SuperviseOptions o = flags.options;
  auto stop = ztp::parse_duration(flags.stop_timeout);
  if (!stop) {
    return make_error(Errc::invalid, "--stop-timeout: " + stop.error().message);
  }
  auto window = ztp::parse_duration(flags.restart_window);
  if (!window) {
    return make_error(Errc::invalid, "--restart-window: " + window.error().message);
  }
  o.stop_timeout = *stop;
  o.restart_window = *window;
  for (const auto& kv : flags.env_vars) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error(Errc::invalid, fmt::format("--env-var '{}': expected NAME=VALUE", kv));
    }
    o.env_vars.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::error_code ec;
  o.state_dir = std::filesystem::absolute(o.state_dir, ec);
  o.workdir = std::filesystem::absolute(o.workdir, ec);
  return o;
}

int run_supervise(Context& ctx, const SuperviseFlags& flags) {
  auto options = resolve(flags);
  if (!options) {
    return report(ctx, options.error());
  }
  if (flags.foreground) {
    if (auto valid = local::validate(*options); !valid) {
      return report(ctx, valid.error());
    }
    auto r = local::supervise(*options);
    return r ? 0 : report(ctx, r.error());
  }
  auto pid = local::start_detached(*options);
  if (!pid) {
    return report(ctx, pid.error());
  }
  auto status = local::read_replica_status(options->state_dir);
  pid_t app_pid = status ? status->pid : 0;
  std::string state = status ? std::string(local::replica_state_name(status->state)) : "unknown";
  auto status_path = (options->state_dir / local::k_status_file).string();
  return print_result(
      ctx,
      Output{.json = {{"supervisor_pid", *pid},
                      {"pid", app_pid},
                      {"state", state},
                      {"status_file", status_path}},
             .text = fmt::format("replica {} of {}: supervisor pid {}, app pid {} ({}); status "
                                 "in {}\n",
                                 options->replica, options->env, *pid, app_pid, state, status_path),
             .json_indent = -1});
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<SuperviseFlags>();
  auto& o = flags->options;
  auto* cmd = root.add_subcommand(
      "supervise",
      "Run one replica's command under a supervisor (used by the local target): restarts it "
      "with backoff when it crashes, rotates its logs, stops it on SIGTERM, records status.json");
  cmd->add_option("--state-dir", o.state_dir,
                  "The replica's directory: status.json, supervisor.pid, stdout.log, stderr.log")
      ->required();
  cmd->add_option("--workdir", o.workdir, "Where the command runs (the release directory)")
      ->required();
  cmd->add_option("--env", o.env, "Environment name, given to the app as ZTP_ENV")->required();
  cmd->add_option("--release", o.release, "Release, given to the app as ZTP_RELEASE")->required();
  cmd->add_option("--replica", o.replica, "Replica number, given to the app as ZTP_REPLICA")
      ->required();
  cmd->add_option("--port", o.port, "Port the app listens on, given to it as PORT (0: none)")
      ->capture_default_str();
  cmd->add_option("--stop-timeout", flags->stop_timeout,
                  "After SIGTERM, how long the app may take before SIGKILL (e.g. 10s, 500ms)")
      ->capture_default_str();
  cmd->add_option("--max-restarts", o.max_restarts,
                  "Crashes allowed within --restart-window; one more is a crash loop")
      ->capture_default_str();
  cmd->add_option("--restart-window", flags->restart_window,
                  "The window in which crashes are counted (e.g. 60s)")
      ->capture_default_str();
  cmd->add_option("--log-max-bytes", o.log_max_bytes, "Size at which a log file is rotated")
      ->capture_default_str();
  cmd->add_option("--log-files", o.log_files, "Rotated files kept per log (.1 .. .N)")
      ->capture_default_str();
  cmd->add_option("--env-var", flags->env_vars, "NAME=VALUE added to the app's environment")
      ->allow_extra_args(false);
  cmd->add_flag("--foreground", flags->foreground,
                "Stay in the foreground instead of detaching (logs go to standard error)");
  cmd->add_option("command", o.command, "The command and its arguments, after --")->required();
  cmd->footer(
      "Detached (the default), it returns once the app started, or fails with the reason.\n"
      "Stop it with SIGTERM to the supervisor pid. See docs/supervise.md.");
  cmd->callback([&ctx, flags] { ctx.exit_code = run_supervise(ctx, *flags); });
}

const Registration k_registration{900, setup};

}  // namespace
}  // namespace ztp::cli
