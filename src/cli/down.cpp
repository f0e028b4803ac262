#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/env_lock.hpp"

namespace ztp::cli {
namespace {

Result<Output> run_down(Workspace& ws, const std::string& only) {
  std::vector<std::string> envs;
  if (!only.empty()) {
    envs.push_back(only);
  } else {
    // Later environments first, so prod stops before the ones it was promoted from.
    for (auto it = ws.spec.environments.rbegin(); it != ws.spec.environments.rend(); ++it) {
      envs.push_back(it->name);
    }
  }
  nlohmann::json stopped = nlohmann::json::array();
  for (const auto& env : envs) {
    auto lock =
        engine::EnvLock::acquire(ws.home, env, "ztp down " + env, true,
                                 [](const std::string& m) { fmt::print(stderr, "{}\n", m); });
    if (!lock.ok()) {
      return lock.take_error();
    }
    ZTP_ASSIGN_OR_RETURN(auto target, ws.target_for(env));
    fmt::print(stderr, "stopping {} (draining first)\n", env);
    auto down = target->down(env);
    if (!down.ok()) {
      return make_error(down.error().code, fmt::format("{}: {}", env, down.error().message));
    }
    store::EnvState desired;
    desired.env = env;
    desired.replicas = 0;
    [[maybe_unused]] auto s = ws.store->set_env_state(desired);
    [[maybe_unused]] auto e =
        ws.store->append_event({std::nullopt, env, "env.down", env + " stopped", "{}"});
    [[maybe_unused]] auto a = ws.store->append_audit("cli", "down", "env " + env);
    stopped.push_back(env);
  }
  return Output{
      {{"stopped", stopped}},
      fmt::format("stopped: {}\n", fmt::join(stopped.get<std::vector<std::string>>(), ", "))};
}

void setup(CLI::App& root, Context& ctx) {
  auto env = std::make_shared<std::string>();
  auto* cmd =
      root.add_subcommand("down", "Stop an environment's replicas (all environments without ENV)");
  cmd->footer(
      "Take the environment's replicas out of the front door, let in-flight requests finish,\n"
      "stop them, and forget the environment's routes. The proxy stops when no environment\n"
      "is left. Releases and history stay in the store.");
  cmd->add_option("ENV", *env, "Only this environment");
  cmd->callback([&ctx, env] { ctx.exit_code = with_workspace(ctx, *env, run_down, *env); });
}

const Registration k_registration{55, setup};

}  // namespace
}  // namespace ztp::cli
