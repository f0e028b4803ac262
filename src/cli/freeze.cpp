// ztp freeze, ztp unfreeze: holding deploys to an environment, and what holds them now.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/holds.hpp"

namespace ztp::cli {
namespace {

struct FreezeFlags {
  std::string env;
  std::string reason;
  std::string by;
};

nlohmann::json freeze_json(const store::EnvHold& h) {
  return {{"reason", h.reason}, {"actor", h.actor}, {"at", h.at}};
}

// Records what happened to `env` in the audit log (as `action`) and the store's events (as
// `kind`, for the event stream and notifications).
Result<void> record(Workspace& ws, const std::string& actor, const std::string& action,
                    const std::string& kind, const std::string& env, const std::string& message,
                    const nlohmann::json& data) {
  ZTP_TRY(ws.store->append_audit(actor, action, env, message));
  ZTP_TRY(ws.store->append_event({std::nullopt, env, kind, message, data.dump()}));
  return {};
}

// The deploy window holding `env` now, if any (for the notes after a freeze changes).
std::optional<engine::Hold> window_now(const spec::Environment& env) {
  auto window = engine::window_hold(env.name, env.deploy_windows, system_clock().wall_now());
  return window.ok() ? *window : std::nullopt;
}

Result<Output> run_freeze(Workspace& ws, const FreezeFlags& flags,
                          const std::optional<store::EnvHold>& earlier) {
  std::string actor = actor_of(flags.by);
  ZTP_ASSIGN_OR_RETURN(auto frozen, ws.store->set_freeze(flags.env, flags.reason, actor));
  ZTP_TRY(record(ws, actor, "freeze", "env.frozen", flags.env,
                 fmt::format("{} frozen by {}: {}", flags.env, actor, flags.reason),
                 {{"reason", flags.reason}, {"actor", actor}}));
  bool again = earlier.has_value();
  return Output{
      {{"env", flags.env},
       {"frozen", freeze_json(frozen)},
       {"was", again ? freeze_json(*earlier) : nlohmann::json()}},
      fmt::format(
          "{} is frozen{}: {}\nruns wait at its gate (or end refused, exit 14, when they may not "
          "wait) until `ztp unfreeze {}`; a rollout already under way goes on\n",
          flags.env,
          again ? fmt::format(" (again; it was frozen by {}: {})", earlier->actor, earlier->reason)
                : "",
          flags.reason, flags.env)};
}

Result<Output> run_unfreeze(Workspace& ws, const FreezeFlags& flags,
                            const std::optional<store::EnvHold>& earlier) {
  std::string actor = actor_of(flags.by);
  auto cleared = ws.store->clear_freeze(flags.env);
  if (!cleared.ok()) {
    return cleared.take_error();
  }
  if (*cleared) {
    const auto& was = *earlier;
    ZTP_TRY(record(ws, actor, "unfreeze", "env.unfrozen", flags.env,
                   fmt::format("{} unfrozen by {} (frozen by {}: {})", flags.env, actor, was.actor,
                               was.reason),
                   {{"actor", actor}, {"was", freeze_json(was)}}));
  }
  auto window = window_now(*ws.spec.find_environment(flags.env));
  std::string text =
      *cleared ? fmt::format("{} is no longer frozen; runs waiting at its gate go on\n", flags.env)
               : fmt::format("{} was not frozen\n", flags.env);
  if (window) {
    text += fmt::format("note: {}\n", window->describe());
  }
  return Output{{{"env", flags.env},
                 {"unfrozen", *cleared},
                 {"was", *cleared && earlier ? freeze_json(*earlier) : nlohmann::json()},
                 {"window", window ? window->to_json() : nlohmann::json()}},
                text};
}

// Reads the freeze of ENV before the change, then makes the change `apply` makes.
Result<Output> change_freeze(Workspace& ws, const FreezeFlags& flags,
                             Result<Output> (*apply)(Workspace&, const FreezeFlags&,
                                                     const std::optional<store::EnvHold>&)) {
  ZTP_ASSIGN_OR_RETURN(auto earlier, ws.store->get_freeze(flags.env));
  return apply(ws, flags, earlier);
}

// Every environment with what holds it now: `ztp freeze` without ENV.
Result<Output> list_holds(Workspace& ws) {
  auto now = system_clock().wall_now();
  Output out{nlohmann::json::array(), ""};
  for (const auto& env : ws.spec.environments) {
    auto holds = engine::holds_on(*ws.store, env, now);
    if (!holds.ok()) {
      return holds.take_error();
    }
    nlohmann::json frozen;
    nlohmann::json window;
    for (const auto& h : *holds) {
      (h.kind == engine::Hold::Kind::freeze ? frozen : window) = h.to_json();
    }
    out.json.push_back({{"env", env.name},
                        {"held", !holds->empty()},
                        {"frozen", frozen},
                        {"window", window},
                        {"deploy_windows", env.deploy_windows.enabled()}});
    if (holds->empty()) {
      out.text +=
          fmt::format("{:<10} open{}\n", env.name,
                      env.deploy_windows.enabled()
                          ? fmt::format(" ({} deploy window(s) in {})",
                                        env.deploy_windows.deny.size(), env.deploy_windows.timezone)
                          : "");
    }
    for (const auto& h : *holds) {
      std::string since = h.since ? " since " + utc_minutes(*h.since) : "";
      out.text += fmt::format("{:<10} {}{}\n", env.name, h.describe(), since);
    }
  }
  return out;
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<FreezeFlags>();
  auto* freeze = root.add_subcommand("freeze", "Hold deploys to an environment (or list holds)");
  freeze->footer(
      "Freezes ENV: every run that reaches its gate waits there, showing the reason, until\n"
      "`ztp unfreeze ENV`; a run that may not wait (--no-wait-approval) ends refused (exit 14).\n"
      "A rollout already under way goes on. Freezing a frozen environment replaces its reason.\n"
      "The freeze is kept in the store, the audit log and the event stream.\n"
      "Without ENV: lists every environment with what holds it now, a freeze or one of its\n"
      "deploy windows (`deploy_windows` in ztp.yaml), and when a window opens.\n"
      "Exit 0 done; 1 usage (unknown environment, no --reason).");
  freeze->add_option("ENV", flags->env, "The environment, as named in ztp.yaml");
  freeze->add_option("-r,--reason", flags->reason,
                     "Why: shown at the gate, kept in the audit log (required with ENV)");
  freeze->add_option("--by", flags->by, "Who freezes (default: $USER)");
  freeze->callback([&ctx, flags] {
    if (flags->env.empty()) {
      ctx.exit_code = with_workspace(ctx, "", list_holds);
    } else if (flags->reason.empty()) {
      ctx.exit_code = report(
          ctx,
          make_error(Errc::invalid, fmt::format("ztp freeze {}: --reason is required; say why, "
                                                "e.g. --reason \"incident 42\"",
                                                flags->env)));
    } else {
      ctx.exit_code = with_workspace(ctx, flags->env, change_freeze, *flags, run_freeze);
    }
  });

  auto* unfreeze = root.add_subcommand("unfreeze", "Lift the freeze of an environment");
  unfreeze->footer(
      "Lifts the freeze of ENV: runs waiting at its gate go on (unless one of its deploy\n"
      "windows still holds it; the command says so). Unfreezing an environment that is not\n"
      "frozen changes nothing.\n"
      "Exit 0 done; 1 usage (unknown environment).");
  unfreeze->add_option("ENV", flags->env, "The environment, as named in ztp.yaml")->required();
  unfreeze->add_option("--by", flags->by, "Who unfreezes (default: $USER)");
  unfreeze->callback([&ctx, flags] {
    ctx.exit_code = with_workspace(ctx, flags->env, change_freeze, *flags, run_unfreeze);
  });
}

const Registration k_registration{64, setup};

}  // namespace
}  // namespace ztp::cli
