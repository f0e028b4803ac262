#include "engine/deploy.hpp"
#include "engine/incident.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "artifact/builder.hpp"
#include "artifact/context_build.hpp"
#include "artifact/directory_source.hpp"
#include "artifact/image_index.hpp"
#include "artifact/oci_layout_store.hpp"
#include "engine/blue_green.hpp"
#include "engine/canary.hpp"
#include "engine/env_lock.hpp"
#include "engine/reap.hpp"
#include "engine/restore.hpp"
#include "engine/rolling.hpp"
#include "engine/watch.hpp"
#include "util/log.hpp"
#include "verify/circuit_breaker.hpp"
#include "verify/suites.hpp"
#include "verify/verifier.hpp"

namespace ztp::engine {
namespace {

std::string strategy_name(spec::Strategy::Kind kind) {
  switch (kind) {
    case spec::Strategy::Kind::rolling:
      return "rolling";
    case spec::Strategy::Kind::blue_green:
      return "blue_green";
    case spec::Strategy::Kind::canary:
      return "canary";
  }
  return "rolling";
}

// The short SHA of the commit image `digest` was built from (its revision label); "" when the
// image does not say (a directory build).
std::string short_sha_of(const std::filesystem::path& home, const std::string& digest) {
  auto layout = artifact::OciLayoutStore::open(home / "oci");
  if (!layout.ok()) {
    return "";
  }
  auto image = layout->resolve(digest);
  auto manifest = image.ok()
                      ? artifact::manifest_for_platform(*layout, *image, artifact::host_platform())
                      : Result<artifact::Descriptor>(image.take_error());
  if (!manifest.ok()) {
    return "";
  }
  auto config = layout->read_config(*manifest);
  if (!config.ok()) {
    return "";
  }
  auto it = config->labels.find("org.opencontainers.image.revision");
  return it == config->labels.end() ? "" : it->second.substr(0, 7);
}

}  // namespace

Result<const spec::Environment*> find_environment(const spec::Spec& spec, const std::string& name) {
  if (const auto* env = spec.find_environment(name); env != nullptr) {
    return env;
  }
  std::vector<std::string> names;
  for (const auto& e : spec.environments) {
    names.push_back(e.name);
  }
  return make_error(Errc::invalid, fmt::format("no environment {} in {}; environments: {}", name,
                                               spec.file.string(), fmt::join(names, ", ")));
}

Result<std::pair<std::string, std::string>> resolve_image(const spec::Spec& spec,
                                                          const std::filesystem::path& home,
                                                          const DeployRequest& req,
                                                          const Progress& progress) {
  ZTP_ASSIGN_OR_RETURN(auto store, artifact::OciLayoutStore::open(home / "oci"));
  if (!req.dir.empty()) {
    auto inputs = artifact::inputs_from_spec(spec, "", "", 0);
    artifact::DirectorySource source(req.dir, inputs.exclude);
    ZTP_ASSIGN_OR_RETURN(auto built, artifact::build_context(spec, source, inputs, store, {}, {}));
    progress({"image.built",
              fmt::format("packed {} into {} ({} bytes{})", req.dir.string(), built.manifest.digest,
                          built.size, built.tags.empty() ? "" : ", tag " + built.tags.front()),
              {{"digest", built.manifest.digest}}});
    return std::pair{built.manifest.digest,
                     built.tags.empty() ? built.manifest.digest : built.tags.front()};
  }
  auto manifest = store.resolve(req.image);
  if (!manifest.ok()) {
    return make_error(
        manifest.error().code,
        fmt::format("image {}: {} (see `ztp build`, or deploy a directory with --dir)", req.image,
                    manifest.error().message));
  }
  return std::pair{manifest->digest, req.image};
}

VerifyFn environment_verifier(const spec::Spec& spec, const spec::Environment& env,
                              const Progress& progress) {
  if (env.verify.empty()) {
    return {};
  }
  auto breaker = std::make_shared<verify::CircuitBreaker>();
  return [&spec, &env, progress, breaker](const std::string& base_url) -> Result<void> {
    auto suites = verify::environment_suites(spec, env, base_url);
    if (!suites.ok()) {
      return suites.take_error();
    }
    progress(
        {"verify.started",
         fmt::format("verifying {} at {} ({})", env.name, base_url, fmt::join(env.verify, ", ")),
         {{"url", base_url}}});
    auto report = verify::verify(*suites, base_url, *breaker);
    for (const auto& suite : report.suites) {
      for (const auto& c : suite.checks) {
        progress({c.passed ? "check.passed" : "check.failed",
                  fmt::format("{} {}/{} {} ms{}", c.passed ? "pass" : "FAIL", suite.name, c.name,
                              c.latency.count(), c.passed ? "" : ": " + c.reason),
                  verify::to_json(c)});
      }
    }
    return report.to_result();
  };
}

Result<void> run_strategy(target::Target& target, Clock& clock, const spec::Environment& env,
                          const RolloutPlan& plan, const VerifyFn& verify, const Progress& progress,
                          bool keep_previous_warm) {
  switch (env.strategy.kind) {
    case spec::Strategy::Kind::rolling:
      return rolling_update(target, clock, plan, env.strategy.rolling, progress);
    case spec::Strategy::Kind::blue_green:
      return blue_green_update(target, clock, plan, env.strategy.blue_green, verify, progress);
    case spec::Strategy::Kind::canary: {
      ZTP_ASSIGN_OR_RETURN(auto url, verify::base_url_for_listen(env.listen));
      return canary_update(target, clock, plan, env.strategy.canary, url, verify, progress,
                           keep_previous_warm);
    }
  }
  return make_error(Errc::internal, "unknown strategy");
}

bool serves_traffic(const target::Observed& obs) {
  return std::any_of(obs.sets.begin(), obs.sets.end(), [](const target::ReleaseSet& set) {
    return set.weight > 0 && !set.replicas.empty();
  });
}

Result<void> roll_out(target::Target& target, Clock& clock, const spec::Environment& env,
                      const RolloutPlan& plan, const target::Observed& before,
                      const VerifyFn& verify, const Progress& progress, bool keep_previous_warm) {
  auto rolled = run_strategy(target, clock, env, plan, verify, progress, keep_previous_warm);
  if (!rolled.ok() || !verify || env.strategy.kind != spec::Strategy::Kind::rolling) {
    return rolled;
  }
  // Rolling has no preview: the new release is verified where it now serves, and a failure
  // puts back what ran before.
  auto url = verify::base_url_for_listen(env.listen);
  auto verified = url.ok() ? verify(*url) : Result<void>(url.take_error());
  if (verified.ok()) {
    return {};
  }
  if (!serves_traffic(before)) {
    return verified;  // nothing to go back to: the class of the failed check
  }
  return roll_back(target, clock, before, plan,
                   make_error(verified.error().code,
                              fmt::format("verification of release {} of {} failed:\n{}",
                                          plan.next.release, env.name, verified.error().message)),
                   progress);
}

namespace {

// Stops the stable sets a canary left warm for the watch (a blue-green standby stays: the
// reaper stops it after keep_previous).
void stop_kept_sets(target::Target& target, const spec::Environment& env,
                    const target::Observed& before, const RolloutPlan& plan,
                    const Progress& progress) {
  if (env.strategy.kind != spec::Strategy::Kind::canary) {
    return;
  }
  std::vector<std::string> kept;
  for (const auto& set : before.sets) {
    if (set.release != plan.next.release && set.weight > 0) {
      kept.push_back(set.release);
    }
  }
  auto stopped = stop_release_sets(target, env.name, kept, progress);
  if (!stopped.ok()) {
    log::warn("the sets kept warm for the watch were not stopped; the reaper will stop them",
              {{"error", stopped.error().message}});
  }
}

}  // namespace

Result<DeployOutcome> deploy(const spec::Spec& spec, const std::filesystem::path& home,
                             store::SqliteStore& store, target::Target& target, Clock& clock,
                             const DeployRequest& req, const Progress& progress) {
  ZTP_ASSIGN_OR_RETURN(const spec::Environment* env, find_environment(spec, req.env));
  ZTP_ASSIGN_OR_RETURN(
      auto lock, EnvLock::acquire(home, req.env, fmt::format("{} deploy {}", req.actor, req.env),
                                  req.wait_for_lock, req.on_lock_wait));
  // An isolated environment keeps its replicas for forensics: nothing is rolled onto it until
  // `ztp restore` (Errc::refused).
  ZTP_TRY(check_not_isolated(store, req.env));
  log::Scope scope({{"env", req.env}});

  // Every event is recorded first, then shown.
  auto record = recorder(store, req.env, req.run_id, progress);
  reap_or_warn(*env, store, target, clock, record);

  ZTP_ASSIGN_OR_RETURN(auto image, resolve_image(spec, home, req, record));
  const auto& [digest, image_ref] = image;
  ZTP_ASSIGN_OR_RETURN(auto bad, store.is_bad(digest, req.env));
  if (bad && !req.force) {
    return make_error(Errc::refused,
                      fmt::format("image {} was rolled back before and is marked bad in {}; "
                                  "deploy it anyway with --force, or clear the mark with "
                                  "`ztp unmark {} {}`",
                                  digest, req.env, req.env, digest));
  }
  ZTP_ASSIGN_OR_RETURN(auto previous, store.current_release(req.env));

  store::NewRelease nr;
  nr.env = req.env;
  nr.digest = digest;
  nr.image_ref = image_ref;
  nr.short_sha = short_sha_of(home, digest);
  nr.replicas = env->replicas;
  nr.strategy = strategy_name(env->strategy.kind);
  nr.run_id = req.run_id;
  ZTP_ASSIGN_OR_RETURN(auto release, store.create_release(nr));
  ZTP_TRY(store.set_release_status(req.env, release.revision, store::ReleaseStatus::deploying));
  ZTP_TRY(store.append_audit(req.actor, "deploy", "env " + req.env,
                             fmt::format("revision {} image {}", release.revision, digest)));

  RolloutPlan plan{.next = {req.env, std::to_string(release.revision), digest},
                   .replicas = env->replicas,
                   .start_timeout = spec.service.start_timeout};
  ZTP_ASSIGN_OR_RETURN(auto before, target.observe(req.env));
  auto verifier = environment_verifier(spec, *env, record);
  const bool watching = env->watch.enabled();
  bool inconclusive = false;  // a canary step ran out of time with too little traffic to judge
  Progress observed = [&record, &inconclusive](const ProgressEvent& e) {
    inconclusive = inconclusive || ended_inconclusive(e);
    record(e);
  };
  auto rolled = roll_out(target, clock, *env, plan, before, verifier, observed, watching);

  std::optional<verify::Judgement> watched;
  if (rolled.ok() && watching) {
    // Active while watched (it serves), the last known good only once the watch passed.
    ZTP_TRY(store.set_release_status(req.env, release.revision, store::ReleaseStatus::active));
    // Right after the switch only the rollback target stays warm; a breach of the watch does
    // not start again the sets stopped here.
    auto stopped = reap_or_warn(*env, store, target, clock, record);
    std::erase_if(before.sets, [&](const target::ReleaseSet& set) {
      return std::find(stopped.begin(), stopped.end(), set.release) != stopped.end();
    });
    auto judged = watch_release(target, clock, req.env, plan.next.release, env->watch, record);
    if (judged.ok()) {
      watched = *judged;
      stop_kept_sets(target, *env, before, plan, record);
    } else if (serves_traffic(before)) {
      rolled = roll_back(target, clock, before, plan, judged.error(), record);
      if (previous.has_value()) {
        [[maybe_unused]] auto s =
            store.set_release_status(req.env, previous->revision, store::ReleaseStatus::active);
        if (rolled.error().code == Errc::rolled_back) {
          rolled = make_error(
              Errc::rolled_back,
              fmt::format("{} to revision {}", rolled.error().message, previous->revision));
        }
      }
    } else {
      rolled = judged.take_error();  // nothing to go back to: it keeps serving, recorded failed
    }
  }
  if (!rolled.ok()) {
    auto status = rolled.error().code == Errc::rolled_back ? store::ReleaseStatus::rolled_back
                                                           : store::ReleaseStatus::failed;
    [[maybe_unused]] auto s = store.set_release_status(req.env, release.revision, status);
    if (status == store::ReleaseStatus::rolled_back && inconclusive) {
      std::string why = fmt::format(
          "image {} is not marked bad in {}: its canary had too little traffic to be judged",
          digest, req.env);
      record({"image.not_marked", why, {{"digest", digest}, {"release", plan.next.release}}});
      return make_error(Errc::rolled_back, fmt::format("{}; {}", rolled.error().message, why));
    }
    if (status == store::ReleaseStatus::rolled_back) {
      [[maybe_unused]] auto b = store.mark_bad(digest, rolled.error().message, req.env);
    }
    return rolled.take_error();
  }
  ZTP_ASSIGN_OR_RETURN(auto active, store.set_release_status(req.env, release.revision,
                                                             store::ReleaseStatus::active));
  ZTP_TRY(store.set_last_known_good(req.env, release.revision));
  ZTP_TRY(record_desired_state(store, *env, plan.next.release));
  // Of the sets the switch left at weight 0, only the rollback target's stays warm.
  reap_or_warn(*env, store, target, clock, record);
  return DeployOutcome{active, "http://" + env->listen + "/", watched};
}

Progress recorder(store::SqliteStore& store, const std::string& env, std::optional<int64_t> run_id,
                  const Progress& progress) {
  return [&store, env, run_id, progress](const ProgressEvent& e) {
    auto stored = store.append_event({run_id, env, e.kind, e.message, e.data.dump()});
    if (!stored.ok()) {
      log::warn("event not recorded", {{"error", stored.error().message}});
    }
    if (progress) {
      progress(e);
    }
  };
}

std::vector<std::string> reap_or_warn(const spec::Environment& env, store::SqliteStore& store,
                                      target::Target& target, Clock& clock,
                                      const Progress& progress) {
  auto reaped = reap_standby(env, store, target, clock, progress);
  if (!reaped.ok()) {
    log::warn("standby sets were not stopped", {{"error", reaped.error().message}});
    return {};
  }
  return std::move(reaped->stopped);
}

Result<void> record_desired_state(store::SqliteStore& store, const spec::Environment& env,
                                  const std::string& release) {
  store::EnvState desired;
  desired.env = env.name;
  desired.replicas = env.replicas;
  desired.weights = nlohmann::json{{release, 100}}.dump();
  ZTP_TRY(store.set_env_state(desired));
  return {};
}

}  // namespace ztp::engine
