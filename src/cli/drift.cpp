#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/drift.hpp"
#include "notify/notifier.hpp"

namespace ztp::cli {
namespace {

// Exit codes of `ztp drift` (DESIGN.md): 0 in sync (or repaired), 2 drift found (or left after
// a fix), 14 a fix was refused (a digest marked bad, an isolated environment), 1 any error.
constexpr int k_in_sync = 0;
constexpr int k_error = 1;
constexpr int k_drift = 2;
constexpr int k_refused = 14;

int exit_for(const engine::DriftReport& r) {
  if (r.fix_ran) {
    return r.repaired() ? k_in_sync : r.refused() > 0 ? k_refused : k_drift;
  }
  return r.in_sync() ? k_in_sync : k_drift;
}

// The worse of two exit codes: an error, then a refusal, then drift.
int worse(int a, int b) {
  auto rank = [](int code) {
    return code == k_error ? 3 : code == k_refused ? 2 : code == k_drift ? 1 : 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

void print_findings(const std::vector<engine::DriftFinding>& findings, bool outcomes) {
  for (const auto& f : findings) {
    fmt::print("  {:<17} {}\n", engine::drift_kind_name(f.kind), f.where);
    fmt::print("      expected: {}\n      observed: {}\n", f.expected, f.observed);
    fmt::print("      {}: {}\n", outcomes ? "fix" : "--fix would", f.fix);
    if (outcomes) {
      fmt::print("      outcome: {}\n", f.outcome);
    }
  }
}

void print_text(const engine::DriftReport& r) {
  std::string desired = r.revision
                            ? fmt::format("release {}, {} replica{}", *r.revision,
                                          r.desired_replicas, r.desired_replicas == 1 ? "" : "s")
                            : std::string("nothing desired");
  if (r.isolated) {
    fmt::print("{}: isolated since {} by {} ({}): not repaired back into serving\n", r.env,
               r.to_json()["isolated"]["at"].get<std::string>(), r.isolated->actor,
               r.isolated->reason);
  }
  if (r.in_sync()) {
    fmt::print("{}: in sync ({})\n", r.env, desired);
    return;
  }
  fmt::print("{}: drift, {} finding{} ({})\n", r.env, r.findings.size(),
             r.findings.size() == 1 ? "" : "s", desired);
  print_findings(r.findings, r.fix_ran);
  if (r.fix_ran) {
    if (r.repaired()) {
      fmt::print("{}: repaired; a second check is in sync\n", r.env);
    } else {
      fmt::print("{}: not repaired ({} refused); a second check still finds {}:\n", r.env,
                 r.refused(), r.remaining.size());
      print_findings(r.remaining, false);
    }
  }
}

int run_drift(Context& ctx, const std::string& only, bool fix, std::string output) {
  if (output.empty()) {
    output = ctx.globals.output;
  }
  auto ws = open_workspace(ctx.globals);
  if (!ws.ok()) {
    report(ctx, ws.error());
    return k_error;
  }
  // Announces what this command records (rollbacks, drift) through ztp.yaml's notifiers.
  notify::ScopedNotifier notifier(ws->spec, *ws->store);
  if (fix) {
    if (auto repaired = reconcile_first(*ws); !repaired.ok()) {
      report(ctx, repaired.error());
      return k_error;
    }
  }
  std::vector<const spec::Environment*> envs;
  if (!only.empty()) {
    auto e = ws->environment(only);
    if (!e.ok()) {
      report(ctx, e.error());
      return k_error;
    }
    envs.push_back(*e);
  } else {
    for (const auto& e : ws->spec.environments) {
      envs.push_back(&e);
    }
  }
  auto dctx = drift_context(*ws, fix ? terminal_progress() : engine::Progress{});
  int code = k_in_sync;
  nlohmann::json all = nlohmann::json::array();
  std::string markdown;
  for (const auto* env : envs) {
    auto r = fix ? engine::fix_drift(dctx, *env) : engine::detect_drift(dctx, *env);
    if (!r.ok()) {
      auto error = make_error(r.error().code,
                              fmt::format("drift check of {}: {}", env->name, r.error().message));
      if (output == "json") {
        all.push_back({{"env", env->name},
                       {"error", {{"code", errc_name(error.code)}, {"message", error.message}}}});
      } else {
        fmt::print(stderr, "ztp: {}\n", error.message);
      }
      code = worse(code, k_error);
      continue;
    }
    code = worse(code, exit_for(*r));
    if (output == "json") {
      all.push_back(r->to_json());
    } else if (output == "markdown") {
      markdown += (markdown.empty() ? "" : "\n") + r->to_markdown();
    } else {
      print_text(*r);
    }
  }
  if (output == "json") {
    fmt::print("{}\n", (only.empty() ? nlohmann::json{{"environments", all}} : all.at(0)).dump(2));
  } else if (output == "markdown") {
    fmt::print("{}", markdown);
  }
  return code;
}

void setup(CLI::App& root, Context& ctx) {
  struct Flags {
    std::string env;
    bool fix = false;
    std::string output;
  };
  auto flags = std::make_shared<Flags>();
  auto* cmd = root.add_subcommand(
      "drift", "Compare what runs with the desired state; --fix restores it without downtime");
  cmd->add_option("ENV", flags->env, "Only this environment (default: every one)");
  cmd->add_flag("--fix", flags->fix,
                "Repair what differs (never starting an image marked bad, never touching an "
                "isolated environment), then check again");
  cmd->add_option("-o,--output", flags->output, "text, json or markdown")
      ->check(CLI::IsMember({"text", "json", "markdown"}));
  cmd->footer(
      "Each check is kept in the store (JSON and markdown); drift appends a drift.found "
      "event.\nWith --fix, what a killed ztp command left half-rolled is put back first.\nExit "
      "codes: 0 in sync (or repaired), 2 drift found (or left after --fix), 14 a "
      "fix was refused, 1 error.");
  cmd->callback(
      [&ctx, flags] { ctx.exit_code = run_drift(ctx, flags->env, flags->fix, flags->output); });
}

const Registration k_registration{56, setup};

}  // namespace
}  // namespace ztp::cli
