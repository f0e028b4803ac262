#include "engine/rollback.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "artifact/digest.hpp"
#include "engine/blue_green.hpp"
#include "engine/deploy.hpp"
#include "engine/env_lock.hpp"
#include "engine/reap.hpp"
#include "util/log.hpp"

namespace ztp::engine {
namespace {

using artifact::short_digest;

Result<bool> usable(store::SqliteStore& store, const store::Release& r,
                    const std::optional<store::Release>& current) {
  if (current && (r.revision == current->revision || r.digest == current->digest)) {
    return false;
  }
  ZTP_ASSIGN_OR_RETURN(auto bad, store.is_bad(r.digest, r.env));
  return !bad;
}

// Every replica of the set healthy (a standby the proxy has kept checking): safe to take all
// traffic at once.
bool warm(const target::ReleaseSet* set) {
  return set != nullptr && !set->replicas.empty() &&
         set->healthy() == static_cast<int>(set->replicas.size());
}

// What unpacked_as_imaged found and did.
struct FilesChecked {
  std::vector<target::FileChange> changes;
  bool refreshed = false;
};

// Compares the files of `ref`'s release directory with its image and, when they differ (or
// cannot be compared), unpacks the image afresh. `warm`: a set of the release runs warm, and is
// not to be switched to when anything was refreshed. Errc as refresh_release's when unpacking
// fails.
Result<FilesChecked> unpacked_as_imaged(target::Target& target, const target::ReleaseRef& ref,
                                        bool warm, const Progress& record) {
  FilesChecked out;
  auto changes = target.changed_files(ref);
  if (changes.ok() && changes->empty()) {
    return out;
  }
  std::string what =
      changes.ok() ? fmt::format("{} {} from its image ({})", changes->size(),
                                 changes->size() == 1 ? "file differs" : "files differ",
                                 target::describe_changes(*changes))
                   : fmt::format("cannot be compared with its image ({})", changes.error().message);
  std::vector<std::string> paths;
  if (changes.ok()) {
    out.changes = std::move(*changes);
    for (const auto& c : out.changes) {
      paths.push_back(c.path);
    }
  }
  record(
      {"rollback.files_changed",
       fmt::format("release {} of {} ({}): {}; {}unpacking the image afresh", ref.release, ref.env,
                   short_digest(ref.digest), what,
                   warm ? "its warm set is not switched to but replaced by a fresh rollout; " : ""),
       {{"release", ref.release}, {"digest", ref.digest}, {"files", paths}}});
  auto refreshed = target.refresh_release(ref);
  if (!refreshed.ok()) {
    return make_error(
        refreshed.error().code,
        fmt::format("release {} of {}: {}, and unpacking image {} afresh failed: {}; "
                    "nothing was switched",
                    ref.release, ref.env, what, ref.digest, refreshed.error().message));
  }
  out.refreshed = true;
  return out;
}

}  // namespace

std::string_view rollback_method_name(RollbackMethod method) {
  return method == RollbackMethod::switch_back ? "switch_back" : "rollout";
}

Result<store::Release> rollback_target(store::SqliteStore& store, const std::string& env,
                                       std::optional<int64_t> to, bool force) {
  ZTP_ASSIGN_OR_RETURN(auto current, store.current_release(env));
  if (to) {
    auto release = store.get_release(env, *to);
    if (!release.ok()) {
      return make_error(Errc::invalid, fmt::format("{} has no revision {}; `ztp status {}` shows "
                                                   "what runs, --to names an earlier revision",
                                                   env, *to, env));
    }
    if (current && current->revision == *to) {
      return make_error(Errc::invalid,
                        fmt::format("{} already runs revision {}; name an earlier revision with "
                                    "--to",
                                    env, *to));
    }
    ZTP_ASSIGN_OR_RETURN(auto bad, store.is_bad(release->digest, env));
    if (bad && !force) {
      return make_error(Errc::refused,
                        fmt::format("revision {} of {} runs image {}, which was rolled back before "
                                    "and is marked bad; roll back to it anyway with --force",
                                    *to, env, release->digest));
    }
    return std::move(*release);
  }
  ZTP_ASSIGN_OR_RETURN(auto lkg, store.get_last_known_good(env));
  if (lkg.has_value()) {
    ZTP_ASSIGN_OR_RETURN(auto release, store.get_release(env, lkg->revision));
    auto ok = usable(store, release, current);
    if (!ok.ok()) {
      return ok.take_error();
    }
    if (*ok) {
      return release;
    }
  }
  // The last known good is what runs: go to the good release before it.
  auto releases = store.list_releases(env, 0);
  if (!releases.ok()) {
    return releases.take_error();
  }
  const int64_t below = current ? current->revision : INT64_MAX;
  for (auto& r : *releases) {
    if (r.revision >= below || r.status != store::ReleaseStatus::superseded || !r.activated_at) {
      continue;
    }
    auto ok = usable(store, r, current);
    if (!ok.ok()) {
      return ok.take_error();
    }
    if (*ok) {
      return std::move(r);
    }
  }
  return make_error(
      Errc::not_found,
      fmt::format("{} has no earlier good release to roll back to (none was active "
                  "before {}, or their images are marked bad); name one with --to "
                  "REVISION, or deploy one",
                  env,
                  current ? fmt::format("revision {}", current->revision) : std::string("now")));
}

Result<RollbackOutcome> rollback(const spec::Spec& spec, const std::filesystem::path& home,
                                 store::SqliteStore& store, target::Target& target, Clock& clock,
                                 const RollbackRequest& req, const Progress& progress) {
  ZTP_ASSIGN_OR_RETURN(const spec::Environment* env, find_environment(spec, req.env));
  ZTP_ASSIGN_OR_RETURN(
      auto lock, EnvLock::acquire(home, req.env, fmt::format("{} rollback {}", req.actor, req.env),
                                  req.wait_for_lock, req.on_lock_wait));
  log::Scope scope({{"env", req.env}});
  auto record = recorder(store, req.env, req.run_id, progress);
  // An expired standby is no rollback target: it goes before the choice of method.
  reap_or_warn(*env, store, target, clock, record);

  ZTP_ASSIGN_OR_RETURN(auto current, store.current_release(req.env));
  auto to = rollback_target(store, req.env, req.to_revision, req.force);
  if (!to.ok()) {
    return to.take_error();
  }
  RollbackOutcome out;
  out.from = current;
  out.to = *to;
  out.url = "http://" + env->listen + "/";
  const std::string label = std::to_string(to->revision);
  const std::string from_text =
      out.from ? fmt::format("revision {}", out.from->revision) : std::string("no active release");
  ZTP_TRY(store.append_audit(
      req.actor, "rollback", "env " + req.env,
      fmt::format("from {} to revision {} image {}{}", from_text, to->revision, to->digest,
                  req.reason.empty() ? std::string() : ": " + req.reason)));
  record({"rollback.started",
          fmt::format("rolling {} back from {} to revision {} ({})", req.env, from_text,
                      to->revision, short_digest(to->digest)),
          {{"from", out.from ? nlohmann::json(out.from->revision) : nlohmann::json()},
           {"to", to->revision},
           {"digest", to->digest},
           {"actor", req.actor},
           {"reason", req.reason}}});

  ZTP_ASSIGN_OR_RETURN(auto obs, target.observe(req.env));
  const auto* set = obs.find(label);
  const target::ReleaseRef ref{req.env, label, to->digest};
  // Neither a warm set nor a fresh placement may run files edited since the image was unpacked:
  // those are unpacked afresh, and a warm set that ran them is replaced by a fresh rollout.
  ZTP_ASSIGN_OR_RETURN(auto checked, unpacked_as_imaged(target, ref, warm(set), record));
  out.files_changed = std::move(checked.changes);
  out.files_refreshed = checked.refreshed;
  bool switched = false;
  if (warm(set) && !checked.refreshed) {
    auto back = switch_back(target, req.env, label);
    if (back.ok()) {
      switched = true;
      out.method = RollbackMethod::switch_back;
      record({"rollback.switched",
              fmt::format("release {} of {} was still running warm: one route change moved all "
                          "traffic to it, no process started",
                          label, req.env),
              {{"release", label}, {"weights", {{label, 100}}}}});
    } else if (back.error().code != Errc::unhealthy) {
      return back.take_error();
    }
  }
  if (!switched) {
    if (set != nullptr && set->weight == 0) {
      // A standby that is not whole and healthy, or ran edited files: start over with a fresh
      // set.
      ZTP_TRY(stop_release_sets(target, req.env, {label}, record));
    }
    ZTP_ASSIGN_OR_RETURN(auto before, target.observe(req.env));
    RolloutPlan plan{.next = {req.env, label, to->digest},
                     .replicas = env->replicas,
                     .start_timeout = spec.service.start_timeout};
    auto verifier = environment_verifier(spec, *env, record);
    auto rolled = roll_out(target, clock, *env, plan, before, verifier, record);
    if (!rolled.ok()) {
      Error failure = rolled.take_error();
      if (failure.code == Errc::rolled_back) {
        failure.message = fmt::format(
            "the rollback of {} to revision {} failed and was itself rolled back; {} "
            "still runs {}: {}",
            req.env, to->revision, req.env, from_text, failure.message);
      }
      record({"rollback.failed", failure.message, {{"code", errc_name(failure.code)}}});
      return failure;
    }
  }

  ZTP_ASSIGN_OR_RETURN(
      out.to, store.set_release_status(req.env, to->revision, store::ReleaseStatus::active));
  if (out.from && out.from->revision != to->revision) {
    ZTP_TRY(
        store.set_release_status(req.env, out.from->revision, store::ReleaseStatus::rolled_back));
    if (out.from->digest != to->digest) {
      ZTP_TRY(store.mark_bad(out.from->digest,
                             fmt::format("rolled back by {} from revision {} of {} to revision {}",
                                         req.actor, out.from->revision, req.env, to->revision),
                             req.env));
      out.marked_bad = true;
    }
  }
  ZTP_TRY(store.set_last_known_good(req.env, to->revision));
  ZTP_TRY(record_desired_state(store, *env, label));
  // The release rolled away from takes no traffic now; it is not kept as a standby.
  if (out.from && out.from->revision != to->revision) {
    auto stopped = stop_release_sets(target, req.env, {std::to_string(out.from->revision)}, record);
    if (stopped.ok()) {
      out.stopped = std::move(*stopped);
    } else {
      log::warn("the release rolled away from was not stopped",
                {{"error", stopped.error().message}});
    }
  }
  record({"rollback.succeeded",
          fmt::format("{} runs revision {} again ({}){}", req.env, to->revision,
                      rollback_method_name(out.method),
                      out.marked_bad ? fmt::format("; the image of revision {} is marked bad",
                                                   out.from->revision)
                                     : std::string()),
          {{"revision", to->revision},
           {"method", rollback_method_name(out.method)},
           {"marked_bad", out.marked_bad ? nlohmann::json(out.from->digest) : nlohmann::json()},
           {"actor", req.actor},
           {"reason", req.reason}}});
  return out;
}

}  // namespace ztp::engine
