#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/incident.hpp"
#include "engine/incident_report.hpp"

namespace ztp::cli {
namespace {

struct IsolateFlags {
  std::string env;
  std::string reason = "no reason given";
  std::string message;
  int retry_after = 300;
};

Result<Output> run_isolate(Workspace& ws, const IsolateFlags& flags) {
  ZTP_ASSIGN_OR_RETURN(auto target, ws.target_for(flags.env));
  engine::IsolateRequest req{flags.env, flags.reason, "cli", flags.message, flags.retry_after};
  ZTP_ASSIGN_OR_RETURN(auto isolated, engine::isolate(*ws.store, *target, req));
  const auto* env = *ws.environment(flags.env);
  nlohmann::json j = engine::record_json(isolated.hold);
  j["already"] = isolated.already;
  j["retry_after_s"] = flags.retry_after;
  j["url"] = "http://" + env->listen + "/";
  return Output{
      j, fmt::format(
             "{} is isolated{}: http://{}/ answers 503 with its maintenance page (Retry-After: {} "
             "s)\nits replicas keep running for forensics; deploys to it are refused until `ztp "
             "restore {}`\nnext: `ztp evidence {}` to keep what happened\n",
             flags.env, isolated.already ? " (again; the reason and page were replaced)" : "",
             env->listen, flags.retry_after, flags.env, flags.env)};
}

Result<Output> run_restore(Workspace& ws, const std::string& env_name) {
  ZTP_ASSIGN_OR_RETURN(auto target, ws.target_for(env_name));
  ZTP_ASSIGN_OR_RETURN(auto restored, engine::lift_isolation(*ws.store, *target, env_name, "cli"));
  const auto* env = *ws.environment(env_name);
  nlohmann::json j{{"env", env_name},
                   {"was", restored.was ? engine::record_json(*restored.was) : nlohmann::json()},
                   {"page_was_up", restored.page_was_up},
                   {"url", "http://" + env->listen + "/"}};
  return Output{j, fmt::format("{} is restored: http://{}/ routes to its replicas again; deploys "
                               "are allowed\n",
                               env_name, env->listen)};
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<IsolateFlags>();
  auto* iso = root.add_subcommand("isolate", "Take an environment off the air during an incident");
  iso->footer(
      "The front door of ENV answers every request with a 503 maintenance page and\n"
      "Retry-After; its routes and replicas stay as they are, for forensics (`ztp evidence`).\n"
      "Deploys and runs to ENV are refused (exit 14) until `ztp restore ENV`. The isolation\n"
      "survives a restart of the proxy. Isolating an isolated environment replaces its reason\n"
      "and page.\n"
      "Exit 0 done; 1 usage (unknown environment, nothing deployed there).");
  iso->add_option("ENV", flags->env, "The environment, as named in ztp.yaml")->required();
  iso->add_option("--reason", flags->reason,
                  "Why (kept in the store, the audit log and the events; not shown publicly)");
  iso->add_option("--message", flags->message,
                  "The sentence the maintenance page shows (default: a generic one)");
  iso->add_option("--retry-after", flags->retry_after,
                  "Seconds clients are told to wait (Retry-After; default 300)")
      ->check(CLI::Range(0, 7 * 24 * 3600));
  iso->callback([&ctx, flags] { ctx.exit_code = with_workspace(ctx, "", run_isolate, *flags); });

  auto env = std::make_shared<std::string>();
  auto* restore = root.add_subcommand("restore", "Put an isolated environment back on the air");
  restore->footer(
      "Takes the front door of ENV out of maintenance (traffic reaches its replicas again)\n"
      "and lifts its isolation, so deploys are allowed again.\n"
      "Exit 0 done; 1 usage (unknown environment, ENV is not isolated).");
  restore->add_option("ENV", *env, "The environment, as named in ztp.yaml")->required();
  restore->callback([&ctx, env] { ctx.exit_code = with_workspace(ctx, "", run_restore, *env); });
}

const Registration k_registration{65, setup};

}  // namespace
}  // namespace ztp::cli
