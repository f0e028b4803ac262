// ztp history: past runs, and the releases of an environment.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "sys/time.hpp"

namespace ztp::cli {
namespace {

std::string local_time(int64_t ms) {
  return sys::format_local(sys::from_unix_ms(ms), "%Y-%m-%d %H:%M:%S");
}

std::string took(const store::Run& run) {
  if (!run.finished_at) {
    return "-";
  }
  return fmt::format("{:.1f}s", static_cast<double>(*run.finished_at - run.created_at) / 1000.0);
}

nlohmann::json run_json(store::SqliteStore& store, const store::Run& r) {
  nlohmann::json stages = nlohmann::json::array();
  auto listed = store.list_stages(r.id);
  if (listed.ok()) {
    for (const auto& s : *listed) {
      stages.push_back({{"name", s.name},
                        {"env", s.env ? nlohmann::json(*s.env) : nlohmann::json()},
                        {"status", store::to_string(s.status)},
                        {"detail", s.detail},
                        {"started_at", s.started_at.value_or(0)},
                        {"finished_at", s.finished_at.value_or(0)}});
    }
  }
  return {{"id", r.id},
          {"commit", r.commit_sha},
          {"short_sha", r.short_sha},
          {"digest", r.digest},
          {"trigger", store::to_string(r.trigger)},
          {"status", store::to_string(r.status)},
          {"reason", r.reason},
          {"interrupted", r.interrupted},
          {"created_at", r.created_at},
          {"finished_at", r.finished_at.value_or(0)},
          {"stages", stages}};
}

// The environments a run reached, as "dev✓ qa✗".
std::string reached(const nlohmann::json& run) {
  std::string out;
  for (const auto& s : run["stages"]) {
    if (s["env"].is_null() || (s["name"] != "verify" && s["status"] != "failed")) {
      continue;
    }
    bool ok = s["status"] == "succeeded" || s["status"] == "skipped";
    out +=
        fmt::format("{}{}{}", out.empty() ? "" : " ", s["env"].get<std::string>(), ok ? "+" : "!");
  }
  return out.empty() ? "-" : out;
}

Result<Output> run_history(Workspace& ws, const std::string& env, int limit) {
  store::RunFilter filter;
  filter.limit = limit;
  if (!env.empty()) {
    filter.env = env;
  }
  auto runs = ws.store->list_runs(filter);
  if (!runs.ok()) {
    return runs.take_error();
  }
  nlohmann::json runs_json = nlohmann::json::array();
  for (const auto& r : *runs) {
    runs_json.push_back(run_json(*ws.store, r));
  }
  nlohmann::json releases_json = nlohmann::json::array();
  if (!env.empty()) {
    auto releases = ws.store->list_releases(env, limit);
    if (!releases.ok()) {
      return releases.take_error();
    }
    auto lkg = ws.store->get_last_known_good(env);
    int64_t good = lkg.ok() && lkg->has_value() ? (*lkg)->revision : 0;
    for (const auto& r : *releases) {
      releases_json.push_back({{"revision", r.revision},
                               {"digest", r.digest},
                               {"short_sha", r.short_sha},
                               {"image", r.image_ref},
                               {"status", store::to_string(r.status)},
                               {"strategy", r.strategy},
                               {"replicas", r.replicas},
                               {"run", r.run_id ? nlohmann::json(*r.run_id) : nlohmann::json()},
                               {"last_known_good", r.revision == good},
                               {"created_at", r.created_at}});
    }
  }
  Output out{{{"runs", runs_json}}, ""};
  if (!env.empty()) {
    out.json["env"] = env;
    out.json["releases"] = releases_json;
  }
  out.text = fmt::format("{:<5} {:<8} {:<8} {:<18} {:<20} {:>8}  {}\n", "RUN", "COMMIT", "TRIGGER",
                         "STATUS", "STARTED", "TOOK", "ENVIRONMENTS");
  for (std::size_t i = 0; i < runs->size(); ++i) {
    const auto& run = (*runs)[i];
    out.text += fmt::format("{:<5} {:<8} {:<8} {:<18} {:<20} {:>8}  {}\n", run.id, run.short_sha,
                            store::to_string(run.trigger), store::to_string(run.status),
                            local_time(run.created_at), took(run), reached(runs_json[i]));
    if (!run.reason.empty()) {
      out.text += fmt::format("      {}\n", run.reason);
    }
  }
  if (!env.empty()) {
    out.text += fmt::format("\nreleases of {}\n{:<5} {:<8} {:<21} {:<12} {:<11} {:<5} {}\n", env,
                            "REV", "COMMIT", "DIGEST", "STATUS", "STRATEGY", "RUN", "CREATED");
    for (const auto& r : releases_json) {
      out.text += fmt::format(
          "{:<5} {:<8} {:<21} {:<12} {:<11} {:<5} {}{}\n", r["revision"].get<int64_t>(),
          r["short_sha"].get<std::string>().empty() ? "-" : r["short_sha"].get<std::string>(),
          artifact::short_digest(r["digest"].get<std::string>()), r["status"].get<std::string>(),
          r["strategy"].get<std::string>(), r["run"].is_null() ? "-" : r["run"].dump(),
          local_time(r["created_at"].get<int64_t>()),
          r["last_known_good"].get<bool>() ? "  (last known good)" : "");
    }
  }
  return out;
}

void setup(CLI::App& root, Context& ctx) {
  auto env = std::make_shared<std::string>();
  auto limit = std::make_shared<int>(20);
  auto* cmd = root.add_subcommand("history", "Past runs, and the releases of an environment");
  cmd->footer(
      "List past runs, newest first: commit, trigger, outcome, time taken and how far each\n"
      "got (env+ verified, env! failed). With ENV, only runs that reached it, followed by its\n"
      "releases (revision, commit, digest, status; the last known good one is marked).");
  cmd->add_option("ENV", *env, "Only this environment, and its releases");
  cmd->add_option("-n,--limit", *limit, "How many runs (and releases) to list")
      ->check(CLI::PositiveNumber);
  cmd->callback(
      [&ctx, env, limit] { ctx.exit_code = with_workspace(ctx, *env, run_history, *env, *limit); });
}

const Registration k_registration{51, setup};

}  // namespace
}  // namespace ztp::cli
