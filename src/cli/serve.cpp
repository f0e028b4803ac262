// ztp serve: the controller's HTTP server (API, webhooks, metrics, dashboard).
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <mutex>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/drift.hpp"
#include "engine/reap.hpp"
#include "notify/notifier.hpp"
#include "server/assets.hpp"
#include "server/controller.hpp"
#include "server/metrics.hpp"
#include "server/server.hpp"
#include "server/traffic_history.hpp"
#include "util/log.hpp"

namespace ztp::cli {
namespace {

struct ServeFlags {
  std::string listen = "127.0.0.1:7070";
};

// The drift schedule's check of one environment (its own workspace: it runs on the
// controller's drift thread).
std::function<void(const spec::Environment&)> drift_schedule(engine::Workspace& ws) {
  return [&ws](const spec::Environment& env) {
    if (env.self_heal) {
      // A repair changes the environment: what a dead process left half-done goes first.
      auto p = engine::make_pipeline(
          ws,
          [](const engine::ProgressEvent& e) {
            log::info(e.message, {{"event", e.kind}});
          },
          {}, "controller");
      if (!engine::reconcile_logged(p).ok()) {
        return;  // no repair on top of a half-rolled environment
      }
    }
    auto report = engine::scheduled_drift_check(drift_context(ws), env);
    if (!report.ok()) {
      log::warn("drift check failed", {{"env", env.name}, {"error", report.error().message}});
    } else if (!report->in_sync()) {
      log::warn("drift found", {{"env", env.name},
                                {"findings", std::to_string(report->findings.size())},
                                {"repaired", report->repaired() ? "yes" : "no"}});
    }
  };
}

// The standby reaper of one environment, on the controller's upkeep thread (the drift
// schedule's workspace: the same thread). Returns when the next standby expires.
std::function<std::optional<std::chrono::system_clock::time_point>(const spec::Environment&)>
reap_schedule(engine::Workspace& ws) {
  return [&ws](
             const spec::Environment& env) -> std::optional<std::chrono::system_clock::time_point> {
    auto target = ws.target_for(env.name);
    if (!target.ok()) {
      log::warn("standby reaping failed", {{"env", env.name}, {"error", target.error().message}});
      return std::nullopt;
    }
    auto progress = [&env](const engine::ProgressEvent& e) {
      log::info(e.message, {{"env", env.name}, {"event", e.kind}});
    };
    auto reaped = engine::reap_expired_standby(ws.spec, ws.home, env.name, *ws.store, **target,
                                               system_clock(), progress);
    if (!reaped.ok()) {
      log::warn("standby reaping failed", {{"env", env.name}, {"error", reaped.error().message}});
      return std::nullopt;
    }
    return reaped->next_expiry;
  };
}

int serve(Context& ctx, const ServeFlags& flags) {
  // One workspace per thread that uses targets: the API's handlers, the controller's worker,
  // the upkeep thread (drift schedule, standby reaper), and the traffic sampler
  // (Workspace::target_for is not thread-safe).
  auto ws = open_workspace(ctx.globals);
  if (!ws.ok()) {
    return report(ctx, ws.error());
  }
  auto run_ws = open_workspace(ctx.globals);
  auto drift_ws = open_workspace(ctx.globals);
  auto traffic_ws = open_workspace(ctx.globals);
  auto check_ws = open_workspace(ctx.globals);  // GET .../drift, one request at a time
  for (auto* w : {&run_ws, &drift_ws, &traffic_ws, &check_ws}) {
    if (!w->ok()) {
      return report(ctx, w->error());
    }
  }
  // Every thread the server starts inherits this mask, so SIGINT and SIGTERM reach only the
  // sigwait below, which stops the server cleanly.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);

  server::Controller::Options co;
  co.workspace = &*run_ws;
  co.progress = [](const engine::ProgressEvent& e) { log::info(e.message, {{"event", e.kind}}); };
  co.drift_check = drift_schedule(*drift_ws);
  co.reap_standby = reap_schedule(*drift_ws);
  server::Controller controller(std::move(co));

  server::TrafficSource traffic = server::workspace_traffic(*traffic_ws);
  std::vector<std::string> env_names;
  for (const auto& e : ws->spec.environments) {
    env_names.push_back(e.name);
  }
  server::TrafficHistory history(*traffic_ws->store, env_names, traffic);
  notify::EventNotifier notifier(ws->spec, *ws->store);

  server::Server::Options options;
  options.http.listen = flags.listen;
  options.api.workspace = &*ws;
  options.api.on_gate_answered = [&controller](int64_t run_id) { controller.resume(run_id); };
  options.api.request_run = [&controller](const std::string& commit, store::Trigger trigger,
                                          const std::string& actor) {
    return controller.request_run(commit, trigger, actor);
  };
  options.api.traffic_points = [&history](const std::string& env, int64_t since_ms) {
    return history.points(env, since_ms);
  };
  std::mutex check_mu;
  engine::Workspace& cws = *check_ws;
  options.api.detect_drift = [&cws,
                              &check_mu](const spec::Environment& env) -> Result<nlohmann::json> {
    std::lock_guard lock(check_mu);
    ZTP_ASSIGN_OR_RETURN(auto report, engine::detect_drift(drift_context(cws), env, "manual"));
    return report.to_json();
  };
  options.github_webhook = [&controller](const server::Request& req) {
    return controller.handle_github_webhook(req);
  };
  server::MetricsRenderer metrics(*ws->store, ws->spec, traffic);
  options.metrics = [&metrics](const server::Request&) {
    auto text = metrics.render();
    if (!text.ok()) {
      return server::error_response(500, text.error().message);
    }
    return server::Response{200, server::k_metrics_content_type, std::move(*text), {}, nullptr};
  };
  options.asset = [](std::string_view path) { return server::dashboard_asset(path); };

  auto server = server::Server::start(std::move(options));
  if (!server.ok()) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return report(ctx, server.error());
  }
  if (auto started = notifier.start(); !started.ok()) {
    log::warn("notifications are off", {{"error", started.error().message}});
  }
  history.start();
  controller.start();
  auto colon = flags.listen.rfind(':');
  std::string url = fmt::format("http://{}:{}/", flags.listen.substr(0, colon), (*server)->port());
  log::info("ztp serve listening", {{"url", url}, {"app", ws->spec.app}});
  int signal = 0;
  sigwait(&stop_signals, &signal);
  log::info("ztp serve stopping", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*server)->stop();
  controller.stop();
  history.stop();
  notifier.flush(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  notifier.stop();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return 0;
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<ServeFlags>();
  auto* cmd = root.add_subcommand("serve", "Serve the API, webhooks, metrics and the dashboard");
  cmd->footer(
      "Serves, on one address: the JSON API under /api/v1 (bearer tokens from `ztp token\n"
      "create`), GitHub push webhooks at /hooks/github, Prometheus metrics at /metrics and the\n"
      "dashboard at /. docs/server.md describes every route. SIGINT or SIGTERM stops it:\n"
      "requests in progress finish, event streams end.");
  cmd->add_option("--listen", flags->listen, "host:port to listen on (default 127.0.0.1:7070)");
  cmd->callback([&ctx, flags] { ctx.exit_code = serve(ctx, *flags); });
}

const Registration k_registration{70, setup};

}  // namespace
}  // namespace ztp::cli
