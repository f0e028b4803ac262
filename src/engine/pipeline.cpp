#include "engine/pipeline.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "artifact/commit_build.hpp"
#include "artifact/oci_layout_store.hpp"
#include "artifact/registry_client.hpp"
#include "engine/deploy.hpp"
#include "engine/env_lock.hpp"
#include "engine/holds.hpp"
#include "engine/pipeline_run.hpp"
#include "source/trigger.hpp"
#include "util/log.hpp"

namespace ztp::engine {
namespace {

using namespace run_detail;  // the run's own parts, shared with pipeline_gates.cpp

// The run's image: builds commit `run.commit_sha` into the layout store (reusing an image built
// before) and records its digest on the run.
Result<std::string> build_stage(Pipeline& p, store::Run& run, Stages& stages) {
  if (!run.digest.empty() && stages.succeeded("build", std::nullopt)) {
    return run.digest;
  }
  ZTP_ASSIGN_OR_RETURN(
      auto id, stages.start(run.id, "build", std::nullopt,
                            fmt::format("building {} from commit {}", p.spec.app, run.short_sha)));
  auto repo = artifact::open_spec_repo(p.spec);
  if (!repo.ok()) {
    return stages.fail(id, repo.error());
  }
  auto layout = artifact::OciLayoutStore::open(p.home / "oci");
  if (!layout.ok()) {
    return stages.fail(id, layout.error());
  }
  auto built = artifact::build_commit(p.spec, *repo, run.commit_sha, *layout);
  if (!built.ok()) {
    return stages.fail(id, built.error());
  }
  const auto& image = built->image;
  auto recorded = p.store.set_run_digest(run.id, image.manifest.digest);
  if (!recorded.ok()) {
    return stages.fail(id, recorded.error());
  }
  run = *recorded;
  // The base as this run resolved it: a rebuild of the commit reuses this image, so the base
  // stays what it was until `ztp build --refresh-base`.
  std::string over = image.base_name.empty() ? ""
                                             : fmt::format(" over {} ({})", image.base_name,
                                                           short_digest(image.base_digest));
  nlohmann::json fields{{"digest", image.manifest.digest},
                        {"tags", image.tags},
                        {"size", image.size},
                        {"reused", built->reused}};
  if (!image.base_name.empty()) {
    fields["base"] = {{"name", image.base_name}, {"digest", image.base_digest}};
  }
  if (!image.platforms.empty()) {
    fields["platforms"] = image.platforms;
  }
  ZTP_TRY(stages.finish(
      id, StageStatus::succeeded,
      built->reused
          ? fmt::format("commit {} was built before: {}{} (tags {})", run.short_sha,
                        image.manifest.digest, over, fmt::join(image.tags, ", "))
          : fmt::format("built {}{} ({} bytes, {} new blob(s), tags {})", image.manifest.digest,
                        over, image.size, image.written.size(), fmt::join(image.tags, ", ")),
      fields));
  return image.manifest.digest;
}

// Pushes the run's image to the spec's registry; the layout store alone needs no push.
Result<void> push_stage(Pipeline& p, const store::Run& run, Stages& stages) {
  if (stages.succeeded("push", std::nullopt)) {
    return {};
  }
  const auto& reg = p.spec.registry;
  std::string where = reg.kind == spec::Registry::Kind::local ? "the local image store" : reg.url;
  ZTP_ASSIGN_OR_RETURN(
      auto id, stages.start(run.id, "push", std::nullopt, fmt::format("pushing to {}", where)));
  if (reg.kind == spec::Registry::Kind::local) {
    return stages.finish(
        id, StageStatus::skipped,
        fmt::format("registry: local keeps images in {} only", (p.home / "oci").string()));
  }
  auto layout = artifact::OciLayoutStore::open(p.home / "oci");
  if (!layout.ok()) {
    return stages.fail(id, layout.error());
  }
  auto manifest = layout->resolve(run.digest);
  if (!manifest.ok()) {
    return stages.fail(id, manifest.error());
  }
  auto client = artifact::RegistryClient::from_spec(reg);
  if (!client.ok()) {
    return stages.fail(id, client.error());
  }
  auto pushed = client->push(*layout, *manifest, {run.commit_sha, run.short_sha});
  if (!pushed.ok()) {
    return stages.fail(id, pushed.error());
  }
  std::string detail = fmt::format(
      "pushed {} to {}: {} blob(s) uploaded ({} bytes), {} already there{}",
      short_digest(run.digest), reg.url, pushed->blobs_uploaded, pushed->bytes_uploaded,
      pushed->blobs_skipped,
      pushed->mounted.empty()
          ? ""
          : fmt::format(", {} mounted from the base's repository", pushed->mounted.size()));
  return stages.finish(id, StageStatus::succeeded, detail,
                       {{"registry", reg.url},
                        {"uploaded", pushed->uploaded},
                        {"skipped", pushed->skipped},
                        {"mounted", pushed->mounted},
                        {"bytes", pushed->bytes_uploaded}});
}

// Rolls `env` to the run's image by its strategy and verifies it (deploy() does both and rolls
// back on failure); the rollout stage ends where verification starts.
Result<int64_t> rollout_stages(Pipeline& p, const store::Run& run, const spec::Environment& env,
                               Stages& stages, const RunReporter& report) {
  ZTP_ASSIGN_OR_RETURN(auto target, p.target_for(env.name));
  ZTP_ASSIGN_OR_RETURN(int64_t open_stage,
                       stages.start(run.id, "rollout", env.name,
                                    fmt::format("rolling {} to {} ({})", env.name, run.short_sha,
                                                short_digest(run.digest))));
  bool verifying = false;
  Progress shown = report.shown_for(env.name);
  Progress progress = [&](const ProgressEvent& e) {
    if (e.kind == "verify.started" && !verifying) {
      verifying = true;
      [[maybe_unused]] auto f =
          stages.finish(open_stage, StageStatus::succeeded, "rollout done; verifying");
      auto v =
          stages.start(run.id, "verify", env.name,
                       fmt::format("verifying {} ({})", env.name, fmt::join(env.verify, ", ")));
      if (v.ok()) {
        open_stage = *v;
      }
    }
    shown(e);
  };
  DeployRequest req;
  req.env = env.name;
  req.image = run.digest;
  req.run_id = run.id;
  req.actor = p.actor;
  req.on_lock_wait = p.on_wait;
  auto outcome = deploy(p.spec, p.home, p.store, *target, p.clock, req, progress);
  if (!outcome.ok()) {
    ZTP_TRY(stages.finish(open_stage, StageStatus::failed, outcome.error().message));
    return outcome.take_error();
  }
  std::string done = fmt::format("{} runs revision {} ({}); it is the last known good release",
                                 env.name, outcome->release.revision, run.short_sha);
  if (!verifying) {
    ZTP_TRY(stages.finish(open_stage, StageStatus::succeeded, "rollout done"));
    ZTP_ASSIGN_OR_RETURN(
        auto v, stages.start(run.id, "verify", env.name, fmt::format("verifying {}", env.name)));
    ZTP_TRY(stages.finish(
        v, StageStatus::skipped,
        fmt::format("{} names no check suites (verify: in ztp.yaml); {}", env.name, done)));
  } else {
    ZTP_TRY(stages.finish(open_stage, StageStatus::succeeded, "checks passed; " + done));
  }
  return outcome->release.revision;
}

RunStatus status_for(const Error& e) {
  switch (e.code) {
    case Errc::rolled_back:
      return RunStatus::rolled_back;
    case Errc::refused:
      return RunStatus::cancelled;
    default:
      return RunStatus::failed;
  }
}

Result<RunResult> end_run(Pipeline& p, int64_t run_id, RunStatus status, const Error& error,
                          const RunReporter& report) {
  ZTP_TRY(p.store.update_run_status(run_id, status, error.message));
  report(std::nullopt, {"run." + std::string(store::to_string(status)), error.message, {}});
  auto result = describe_run(p, run_id);
  if (result.ok()) {
    result->error = error;
  }
  return result;
}

// How a gate that ended the run refused it: "rejected" when someone rejected the approval,
// else "cancelled" (a hold it may not wait for, or superseded while it waited).
std::string gate_refusal(const Pipeline& p, int64_t run_id, const std::string& env) {
  auto approval = p.store.get_approval(run_id, env);
  return approval.ok() && approval->status == store::ApprovalStatus::rejected ? "rejected"
                                                                              : "cancelled";
}

}  // namespace

Result<LastRuns> last_runs(const Pipeline& p) {
  LastRuns out;
  store::RunFilter page;
  page.limit = 20;
  while (true) {
    auto runs = p.store.list_runs(page);
    if (!runs.ok()) {
      return runs.take_error();
    }
    for (auto& run : *runs) {
      // A driver holds its run's lock while the run is `running`: a free lock means it died.
      bool dead = run.interrupted;
      if (!dead && run.status == RunStatus::running) {
        dead = EnvLock::acquire_run(p.home, run.id, fmt::format("{} trigger check", p.actor)).ok();
      }
      if (!dead) {
        out.of_record = std::move(run);
        return out;
      }
      if (!out.interrupted) {
        out.interrupted = run;
      }
    }
    if (static_cast<int>(runs->size()) < page.limit) {
      return out;
    }
    page.before_id = runs->back().id;
  }
}

Result<TriggerCheck> check_trigger(const Pipeline& p, const source::GitRepo& repo,
                                   const RunRequest& req) {
  auto commit =
      req.revision.empty() ? repo.branch_tip(p.spec.source.branch) : repo.resolve(req.revision);
  if (!commit.ok()) {
    return commit.take_error();
  }
  TriggerCheck out{*commit, true, ""};
  if (req.always) {
    out.reason = "run requested with --always";
    return out;
  }
  ZTP_ASSIGN_OR_RETURN(auto last, last_runs(p));
  if (last.interrupted && last.interrupted->commit_sha == commit->sha) {
    out.reason = fmt::format(
        "run {} of commit {} was interrupted (the process driving it died); running it again",
        last.interrupted->id, commit->short_sha);
    return out;
  }
  if (!last.of_record) {
    out.reason = "the first run of " + p.spec.app;
    return out;
  }
  const auto& prev = *last.of_record;
  if (prev.commit_sha == commit->sha) {
    out.triggers = false;
    out.reason = fmt::format("commit {} already ran as run {} ({}); run it again with --always",
                             commit->short_sha, prev.id, store::to_string(prev.status));
    return out;
  }
  // Every commit since the last run's counts: a change to the application followed by one to
  // the docs still deploys the application.
  std::set<std::string> changed;
  auto since = repo.commits_between(prev.commit_sha, commit->sha);
  std::vector<source::CommitInfo> commits =
      since.ok() ? *since : std::vector<source::CommitInfo>{*commit};
  if (commits.empty()) {
    out.triggers = false;
    out.reason = fmt::format(
        "commit {} is already contained in the last run's commit {}; run it "
        "again with --always",
        commit->short_sha, prev.short_sha);
    return out;
  }
  for (const auto& c : commits) {
    ZTP_ASSIGN_OR_RETURN(auto paths, repo.changed_paths(c.sha));
    changed.insert(paths.begin(), paths.end());
  }
  auto decision = source::decide_trigger({changed.begin(), changed.end()}, p.spec.source.paths);
  out.triggers = decision.triggers;
  out.reason = decision.reason;
  return out;
}

Result<store::Run> create_run(const Pipeline& p, const source::CommitInfo& commit,
                              const RunRequest& req) {
  if (!req.until.empty() && p.spec.find_environment(req.until) == nullptr) {
    std::vector<std::string> names;
    for (const auto& e : p.spec.environments) {
      names.push_back(e.name);
    }
    return make_error(Errc::invalid,
                      fmt::format("--until {}: no such environment in {}; "
                                  "environments: {}",
                                  req.until, p.spec.file.string(), fmt::join(names, ", ")));
  }
  store::NewRun nr{p.spec.app, commit.sha, commit.short_sha, req.trigger, req.until};
  auto run = p.store.create_run(nr);
  if (!run.ok()) {
    return run.take_error();
  }
  store::RunFilter waiting;
  waiting.status = RunStatus::awaiting_approval;
  waiting.limit = 0;
  auto older = p.store.list_runs(waiting);
  if (older.ok()) {
    for (const auto& o : *older) {
      if (o.id != run->id) {
        [[maybe_unused]] auto c = p.store.update_run_status(
            o.id, RunStatus::cancelled,
            fmt::format("superseded by run {} (commit {})", run->id, commit.short_sha));
      }
    }
  }
  ZTP_TRY(p.store.append_audit(req.actor, "run", fmt::format("run {}", run->id),
                               fmt::format("commit {} ({}): {}", commit.short_sha,
                                           store::to_string(req.trigger), commit.summary)));
  return run;
}

Result<RunResult> describe_run(const Pipeline& p, int64_t run_id) {
  ZTP_ASSIGN_OR_RETURN(auto run, p.store.get_run(run_id));
  auto stages = p.store.list_stages(run_id);
  if (!stages.ok()) {
    return stages.take_error();
  }
  RunResult out;
  out.run = run;
  for (const auto* env : run_environments(p.spec, run.until_env)) {
    EnvResult r{env->name, "not_reached", 0, url_of(*env), ""};
    for (const auto& s : *stages) {
      if (s.env != env->name) {
        continue;
      }
      r.detail = s.detail;
      if (s.name == "gate") {
        r.status = s.status == StageStatus::failed              ? gate_refusal(p, run_id, env->name)
                   : s.status != StageStatus::running           ? "approved"
                   : run.status == RunStatus::awaiting_approval ? "awaiting_approval"
                   : store::is_final(run.status)                ? "cancelled"
                                                                : "held";
        if (s.status == StageStatus::running && store::is_final(run.status)) {
          r.detail = run.reason;  // ended from outside while it waited (superseded, coalesced)
        }
      } else if (s.status == StageStatus::failed) {
        r.status = run.status == RunStatus::rolled_back ? "rolled_back" : "failed";
      } else if (s.status == StageStatus::running) {
        r.status = s.name == "rollout" ? "rolling_out" : "verifying";
      } else if (s.name == "verify") {
        r.status = "succeeded";
      }
    }
    auto releases = p.store.list_releases(env->name, 20);
    if (releases.ok()) {
      for (const auto& rel : *releases) {
        if (rel.run_id == run_id) {
          r.revision = rel.revision;
          break;
        }
      }
    }
    out.envs.push_back(r);
  }
  return out;
}

Result<RunResult> drive_run(Pipeline& p, int64_t run_id) {
  ZTP_ASSIGN_OR_RETURN(auto lock,
                       EnvLock::acquire_run(p.home, run_id, fmt::format("{} run", p.actor)));
  auto run = p.store.get_run(run_id);
  if (!run.ok()) {
    return run.take_error();
  }
  if (store::is_final(run->status)) {
    return describe_run(p, run_id);
  }
  log::Scope scope({{"run", std::to_string(run_id)}});
  RunReporter report(p, run_id);
  ZTP_ASSIGN_OR_RETURN(auto listed, p.store.list_stages(run_id));
  Stages stages(p.store, report, listed);
  if (run->status == RunStatus::queued) {
    ZTP_ASSIGN_OR_RETURN(run, p.store.update_run_status(run_id, RunStatus::running));
    report(std::nullopt,
           {"run.started",
            fmt::format("run {}: {} at commit {}", run_id, p.spec.app, run->short_sha),
            {{"commit", run->commit_sha}}});
  }

  auto digest = build_stage(p, *run, stages);
  if (!digest.ok()) {
    return end_run(p, run_id, RunStatus::failed, digest.error(), report);
  }
  auto pushed = push_stage(p, *run, stages);
  if (!pushed.ok()) {
    return end_run(p, run_id, RunStatus::failed, pushed.error(), report);
  }

  for (const auto* env : run_environments(p.spec, run->until_env)) {
    if (stages.succeeded("verify", env->name)) {
      continue;  // done before this process took the run over
    }
    std::string detail;
    auto gate = gate_stage(p, *run, *env, stages, report, detail);
    if (!gate.ok()) {
      return end_run(p, run_id, RunStatus::failed, gate.error(), report);
    }
    if (*gate == GateAnswer::waiting) {
      return describe_run(p, run_id);
    }
    if (*gate == GateAnswer::rejected) {
      if (store::is_final(run->status)) {
        return describe_run(p, run_id);
      }
      return end_run(p, run_id, RunStatus::cancelled, make_error(Errc::refused, detail), report);
    }
    auto rolled = rollout_stages(p, *run, *env, stages, report);
    if (!rolled.ok()) {
      Error e = rolled.error();
      e.message = fmt::format("{}: {}", env->name, e.message);
      return end_run(p, run_id, status_for(e), e, report);
    }
  }
  ZTP_TRY(p.store.update_run_status(run_id, RunStatus::succeeded));
  report(std::nullopt,
         {"run.succeeded", fmt::format("run {} succeeded: {} is out", run_id, run->short_sha), {}});
  return describe_run(p, run_id);
}

}  // namespace ztp::engine
