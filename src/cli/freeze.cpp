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
  auto event = ws.store->append_event({std::nullopt, env, kind, message, data.dump()});
  if (!event.ok()) {
    return event.take_error();
  }
  return {};
}

// The deploy window holding `env` now, if any (for the notes after a freeze changes).
std::optional<engine::Hold> window_now(const spec::Environment& env) {
  auto window = engine::window_hold(env.name, env.deploy_windows, system_clock().wall_now());
  return window.ok() ? *window : std::nullopt;
}

// What freeze and unfreeze work on: the workspace, who acts, and the freeze before.
struct FreezeChange {
  Workspace ws;
  std::string actor;
  std::optional<store::EnvHold> earlier;
};

Result<FreezeChange> begin_change(const Context& ctx, const FreezeFlags& flags) {
  auto ws = open_workspace(ctx.globals);
  if (!ws.ok()) {
    return ws.take_error();
  }
  if (auto env = ws->environment(flags.env); !env.ok()) {
    return env.take_error();
  }
  auto earlier = ws->store->get_freeze(flags.env);
  if (!earlier.ok()) {
    return earlier.take_error();
  }
  return FreezeChange{std::move(*ws), actor_of(flags.by), std::move(*earlier)};
}

int run_freeze(Context& ctx, const FreezeFlags& flags) {
  auto change = begin_change(ctx, flags);
  if (!change.ok()) {
    return report(ctx, change.error());
  }
  auto& ws = change->ws;
  const std::string& actor = change->actor;
  const auto& earlier = change->earlier;
  auto frozen = ws.store->set_freeze(flags.env, flags.reason, actor);
  if (!frozen.ok()) {
    return report(ctx, frozen.error());
  }
  auto recorded = record(ws, actor, "freeze", "env.frozen", flags.env,
                         fmt::format("{} frozen by {}: {}", flags.env, actor, flags.reason),
                         {{"reason", flags.reason}, {"actor", actor}});
  if (!recorded.ok()) {
    return report(ctx, recorded.error());
  }
  bool again = earlier.has_value();
  if (ctx.globals.json()) {
    nlohmann::json j{{"env", flags.env},
                     {"frozen", freeze_json(*frozen)},
                     {"was", again ? freeze_json(*earlier) : nlohmann::json()}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print(
        "{} is frozen{}: {}\nruns wait at its gate (or end refused, exit 14, when they may not "
        "wait) until `ztp unfreeze {}`; a rollout already under way goes on\n",
        flags.env,
        again ? fmt::format(" (again; it was frozen by {}: {})", earlier->actor, earlier->reason)
              : "",
        flags.reason, flags.env);
  }
  return 0;
}

int run_unfreeze(Context& ctx, const FreezeFlags& flags) {
  auto change = begin_change(ctx, flags);
  if (!change.ok()) {
    return report(ctx, change.error());
  }
  auto& ws = change->ws;
  const std::string& actor = change->actor;
  const auto& earlier = change->earlier;
  auto cleared = ws.store->clear_freeze(flags.env);
  if (!cleared.ok()) {
    return report(ctx, cleared.error());
  }
  if (*cleared) {
    const auto& was = *earlier;
    auto recorded = record(ws, actor, "unfreeze", "env.unfrozen", flags.env,
                           fmt::format("{} unfrozen by {} (frozen by {}: {})", flags.env, actor,
                                       was.actor, was.reason),
                           {{"actor", actor}, {"was", freeze_json(was)}});
    if (!recorded.ok()) {
      return report(ctx, recorded.error());
    }
  }
  auto window = window_now(*ws.spec.find_environment(flags.env));
  if (ctx.globals.json()) {
    nlohmann::json j{{"env", flags.env},
                     {"unfrozen", *cleared},
                     {"was", *cleared && earlier ? freeze_json(*earlier) : nlohmann::json()},
                     {"window", window ? window->to_json() : nlohmann::json()}};
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}\n", *cleared ? fmt::format("{} is no longer frozen; runs waiting at its gate "
                                              "go on",
                                              flags.env)
                                : fmt::format("{} was not frozen", flags.env));
    if (window) {
      fmt::print("note: {}\n", window->describe());
    }
  }
  return 0;
}

// Every environment with what holds it now: `ztp freeze` without ENV.
int list_holds(Context& ctx) {
  auto ws = open_workspace(ctx.globals);
  if (!ws.ok()) {
    return report(ctx, ws.error());
  }
  auto now = system_clock().wall_now();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& env : ws->spec.environments) {
    auto holds = engine::holds_on(*ws->store, env, now);
    if (!holds.ok()) {
      return report(ctx, holds.error());
    }
    nlohmann::json frozen;
    nlohmann::json window;
    for (const auto& h : *holds) {
      (h.kind == engine::Hold::Kind::freeze ? frozen : window) = h.to_json();
    }
    out.push_back({{"env", env.name},
                   {"held", !holds->empty()},
                   {"frozen", frozen},
                   {"window", window},
                   {"deploy_windows", env.deploy_windows.enabled()}});
    if (ctx.globals.json()) {
      continue;
    }
    if (holds->empty()) {
      fmt::print("{:<10} open{}\n", env.name,
                 env.deploy_windows.enabled()
                     ? fmt::format(" ({} deploy window(s) in {})", env.deploy_windows.deny.size(),
                                   env.deploy_windows.timezone)
                     : "");
    }
    for (const auto& h : *holds) {
      std::string since = h.since ? " since " + utc_minutes(*h.since) : "";
      fmt::print("{:<10} {}{}\n", env.name, h.describe(), since);
    }
  }
  if (ctx.globals.json()) {
    fmt::print("{}\n", out.dump(2));
  }
  return 0;
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
      ctx.exit_code = list_holds(ctx);
    } else if (flags->reason.empty()) {
      ctx.exit_code = report(
          ctx,
          make_error(Errc::invalid, fmt::format("ztp freeze {}: --reason is required; say why, "
                                                "e.g. --reason \"incident 42\"",
                                                flags->env)));
    } else {
      ctx.exit_code = run_freeze(ctx, *flags);
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
  unfreeze->callback([&ctx, flags] { ctx.exit_code = run_unfreeze(ctx, *flags); });
}

const Registration k_registration{64, setup};

}  // namespace
}  // namespace ztp::cli
