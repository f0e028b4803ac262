#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/holds.hpp"
#include "engine/reap.hpp"

namespace ztp::cli {
namespace {

nlohmann::json env_status(Workspace& ws, const spec::Environment& env) {
  nlohmann::json j{{"env", env.name},
                   {"url", "http://" + env.listen + "/"},
                   {"target", env.target},
                   {"desired_replicas", env.replicas}};
  auto current = ws.store->current_release(env.name);
  if (current.ok() && current->has_value()) {
    const auto& r = **current;
    j["release"] = {{"revision", r.revision},
                    {"digest", r.digest},
                    {"image", r.image_ref},
                    {"short_sha", r.short_sha},
                    {"activated_at", r.activated_at.value_or(0)}};
  } else {
    j["release"] = nullptr;
  }
  auto lkg = ws.store->get_last_known_good(env.name);
  j["last_known_good"] =
      lkg.ok() && lkg->has_value() ? nlohmann::json((*lkg)->revision) : nlohmann::json();
  j["sets"] = nlohmann::json::array();
  auto target = ws.target_for(env.name);
  if (!target.ok()) {
    j["error"] = target.error().message;
    return j;
  }
  // Looking is when a standby set past its window is noticed: it is stopped first (unless a
  // rollout holds the environment; that rollout reaps it).
  auto reaped = engine::reap_expired_standby(ws.spec, ws.home, env.name, *ws.store, **target,
                                             system_clock(), terminal_progress());
  if (!reaped.ok()) {
    j["warning"] = "expired standby sets were not stopped: " + reaped.error().message;
  } else if (!reaped->stopped.empty()) {
    j["standby_stopped"] = reaped->stopped;
  }
  auto obs = (*target)->observe(env.name);
  if (!obs.ok()) {
    j["error"] = obs.error().message;
    return j;
  }
  int healthy = 0;  // of the sets that take traffic
  int total = 0;
  int standby = 0;  // replicas of sets at weight 0
  for (const auto& set : obs->sets) {
    nlohmann::json s{{"release", set.release},
                     {"digest", set.digest},
                     {"weight", set.weight},
                     {"replicas", nlohmann::json::array()}};
    for (const auto& r : set.replicas) {
      s["replicas"].push_back({{"id", r.id},
                               {"address", r.address},
                               {"state", target::state_name(r.state)},
                               {"restarts", r.restarts},
                               {"detail", r.detail}});
      ++total;
      if (set.weight == 0) {
        ++standby;
      } else if (r.state == target::Replica::State::healthy) {
        ++healthy;
      }
    }
    j["sets"].push_back(s);
  }
  j["healthy_replicas"] = healthy;
  j["standby_replicas"] = standby;
  j["replicas"] = total;
  return j;
}

// The runs still in progress or waiting at a gate, newest first.
nlohmann::json open_runs(Workspace& ws) {
  nlohmann::json out = nlohmann::json::array();
  for (auto status :
       {store::RunStatus::awaiting_approval, store::RunStatus::running, store::RunStatus::queued}) {
    store::RunFilter filter;
    filter.status = status;
    filter.limit = 20;
    auto runs = ws.store->list_runs(filter);
    if (!runs.ok()) {
      continue;
    }
    for (const auto& r : *runs) {
      nlohmann::json j{{"id", r.id},
                       {"short_sha", r.short_sha},
                       {"status", store::to_string(r.status)},
                       {"reason", r.reason}};
      if (r.status == store::RunStatus::awaiting_approval) {
        auto approval = ws.store->get_approval(r.id);
        if (approval.ok()) {
          j["awaiting"] = approval->env;
        }
      }
      auto held = engine::held_run(*ws.store, ws.spec, r, system_clock().wall_now());
      if (held.ok() && held->has_value()) {
        j["held"] = (*held)->to_json();
      } else if (!held.ok()) {
        j["warning"] = "why it waits could not be read: " + held.error().message;
      }
      out.push_back(j);
    }
  }
  return out;
}

// The text of one environment of env_status(): its release and health, then its sets.
std::string env_text(const nlohmann::json& j) {
  std::string release = "(none)";
  if (!j["release"].is_null()) {
    const auto& r = j["release"];
    std::string sha = r["short_sha"].get<std::string>();
    release =
        fmt::format("revision {} {}{}", r["revision"].get<int64_t>(), sha.empty() ? "" : sha + " ",
                    artifact::short_digest(r["digest"].get<std::string>()));
  }
  int standby = j.value("standby_replicas", 0);
  std::string text = fmt::format(
      "{:<8} {}  {}/{} healthy{}  {}\n", j["env"].get<std::string>(), release,
      j.value("healthy_replicas", 0), j["desired_replicas"].get<int>(),
      standby > 0 ? fmt::format(", {} standby", standby) : "", j["url"].get<std::string>());
  for (const char* key : {"error", "warning"}) {
    if (j.contains(key)) {
      text += fmt::format("         ! {}\n", j[key].get<std::string>());
    }
  }
  for (const auto& s : j["sets"]) {
    text += fmt::format("         release {} weight {}%\n", s["release"].get<std::string>(),
                        s["weight"].get<int>());
    for (const auto& r : s["replicas"]) {
      text += fmt::format(
          "           {:<16} {:<16} {:<10} restarts {}{}\n", r["id"].get<std::string>(),
          r["address"].get<std::string>(), r["state"].get<std::string>(), r["restarts"].get<int>(),
          r["detail"].get<std::string>().empty() ? "" : "  " + r["detail"].get<std::string>());
    }
  }
  return text;
}

Result<Output> run_status(Workspace& ws, const std::string& only) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& env : ws.spec.environments) {
    if (only.empty() || env.name == only) {
      out.push_back(env_status(ws, env));
    }
  }
  auto runs = open_runs(ws);
  std::string text = fmt::format("app {}\n", ws.spec.app);
  for (const auto& r : runs) {
    if (r.contains("awaiting")) {
      text += fmt::format(
          "run {} ({}) awaits approval of {}: `ztp approve {}` or `ztp reject {}`\n",
          r["id"].get<int64_t>(), r["short_sha"].get<std::string>(),
          r["awaiting"].get<std::string>(), r["id"].get<int64_t>(), r["id"].get<int64_t>());
    } else if (r.contains("held")) {
      text += fmt::format("run {} ({}) is {}, {}\n", r["id"].get<int64_t>(),
                          r["short_sha"].get<std::string>(), r["status"].get<std::string>(),
                          r["held"]["message"].get<std::string>());
    } else {
      text += fmt::format("run {} ({}) is {}\n", r["id"].get<int64_t>(),
                          r["short_sha"].get<std::string>(), r["status"].get<std::string>());
    }
  }
  for (const auto& j : out) {
    text += env_text(j);
  }
  return Output{{{"app", ws.spec.app}, {"environments", out}, {"runs", runs}}, text};
}

void setup(CLI::App& root, Context& ctx) {
  auto env = std::make_shared<std::string>();
  auto* cmd =
      root.add_subcommand("status", "What runs where: release, replicas, health, weights, URLs");
  cmd->footer(
      "Shows each environment's release, its release sets with their weights and replicas\n"
      "(state, restarts), the URL, and the runs in progress or waiting for approval.\n"
      "Standby sets kept warm past their window (blue_green keep_previous, or the watch window),\n"
      "and those of releases no rollback would go to, are stopped first, as the controller\n"
      "would; a rollout in progress is left alone.");
  cmd->add_option("ENV", *env, "Only this environment");
  cmd->callback([&ctx, env] { ctx.exit_code = with_workspace(ctx, *env, run_status, *env); });
}

const Registration k_registration{50, setup};

}  // namespace
}  // namespace ztp::cli
