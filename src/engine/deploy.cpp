#include "engine/deploy.hpp"

#include <fmt/format.h>

#include "artifact/builder.hpp"
#include "artifact/oci_layout_store.hpp"
#include "engine/blue_green.hpp"
#include "engine/canary.hpp"
#include "engine/env_lock.hpp"
#include "engine/rolling.hpp"
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

}  // namespace

Result<std::pair<std::string, std::string>> resolve_image(const spec::Spec& spec,
                                                          const std::filesystem::path& home,
                                                          const DeployRequest& req,
                                                          const Progress& progress) {
  auto store = artifact::OciLayoutStore::open(home / "oci");
  if (!store.ok()) {
    return store.take_error();
  }
  if (!req.dir.empty()) {
    auto inputs = artifact::inputs_from_spec(spec, "", "", 0);
    auto built = artifact::build_image_from_directory(req.dir, inputs, *store, {});
    if (!built.ok()) {
      return built.take_error();
    }
    progress(
        {"image.built",
         fmt::format("packed {} into {} ({} bytes{})", req.dir.string(), built->manifest.digest,
                     built->size, built->tags.empty() ? "" : ", tag " + built->tags.front()),
         {{"digest", built->manifest.digest}}});
    return std::pair{built->manifest.digest,
                     built->tags.empty() ? built->manifest.digest : built->tags.front()};
  }
  auto manifest = store->resolve(req.image);
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
                          const RolloutPlan& plan, const VerifyFn& verify,
                          const Progress& progress) {
  switch (env.strategy.kind) {
    case spec::Strategy::Kind::rolling:
      return rolling_update(target, clock, plan, env.strategy.rolling, progress);
    case spec::Strategy::Kind::blue_green:
      return blue_green_update(target, clock, plan, env.strategy.blue_green, verify, progress);
    case spec::Strategy::Kind::canary: {
      auto url = verify::base_url_for_listen(env.listen);
      if (!url.ok()) {
        return url.take_error();
      }
      return canary_update(target, clock, plan, env.strategy.canary, *url, verify, progress);
    }
  }
  return make_error(Errc::internal, "unknown strategy");
}

Result<DeployOutcome> deploy(const spec::Spec& spec, const std::filesystem::path& home,
                             store::SqliteStore& store, target::Target& target, Clock& clock,
                             const DeployRequest& req, const Progress& progress) {
  const auto* env = spec.find_environment(req.env);
  if (env == nullptr) {
    std::vector<std::string> names;
    for (const auto& e : spec.environments) {
      names.push_back(e.name);
    }
    return make_error(Errc::invalid,
                      fmt::format("no environment {} in {}; environments: {}", req.env,
                                  spec.file.string(), fmt::join(names, ", ")));
  }
  auto lock = EnvLock::acquire(home, req.env, fmt::format("{} deploy {}", req.actor, req.env),
                               req.wait_for_lock, req.on_lock_wait);
  if (!lock.ok()) {
    return lock.take_error();
  }
  log::Scope scope({{"env", req.env}});

  // Every event is recorded first, then shown.
  auto record = [&](const ProgressEvent& e) {
    auto stored = store.append_event({req.run_id, req.env, e.kind, e.message, e.data.dump()});
    if (!stored.ok()) {
      log::warn("event not recorded", {{"error", stored.error().message}});
    }
    progress(e);
  };

  auto image = resolve_image(spec, home, req, record);
  if (!image.ok()) {
    return image.take_error();
  }
  const auto& [digest, image_ref] = *image;
  auto bad = store.is_bad(digest, req.env);
  if (!bad.ok()) {
    return bad.take_error();
  }
  if (*bad && !req.force) {
    return make_error(Errc::refused,
                      fmt::format("image {} was rolled back before and is marked bad; deploy it "
                                  "anyway with --force",
                                  digest));
  }

  store::NewRelease nr;
  nr.env = req.env;
  nr.digest = digest;
  nr.image_ref = image_ref;
  nr.replicas = env->replicas;
  nr.strategy = strategy_name(env->strategy.kind);
  nr.run_id = req.run_id;
  auto release = store.create_release(nr);
  if (!release.ok()) {
    return release.take_error();
  }
  ZTP_TRY(store.set_release_status(req.env, release->revision, store::ReleaseStatus::deploying));
  ZTP_TRY(store.append_audit(req.actor, "deploy", "env " + req.env,
                             fmt::format("revision {} image {}", release->revision, digest)));

  RolloutPlan plan;
  plan.next = {req.env, std::to_string(release->revision), digest};
  plan.replicas = env->replicas;
  plan.start_timeout = spec.service.start_timeout;
  auto verifier = environment_verifier(spec, *env, record);
  auto rolled = run_strategy(target, clock, *env, plan, verifier, record);
  if (rolled.ok() && verifier && env->strategy.kind == spec::Strategy::Kind::rolling) {
    // Rolling has no preview: the new release is verified where it now serves, and a failure
    // rolls the environment back to what it ran before.
    auto url = verify::base_url_for_listen(env->listen);
    auto verified = url.ok() ? verifier(*url) : Result<void>(url.take_error());
    if (!verified.ok()) {
      record({"verify.failed", verified.error().message, {}});
      auto previous = store.get_last_known_good(req.env);
      if (previous.ok() && previous->has_value()) {
        RolloutPlan back = plan;
        back.next = {req.env, std::to_string((*previous)->revision), (*previous)->digest};
        auto restored = rolling_update(target, clock, back, env->strategy.rolling, record);
        if (restored.ok()) {
          [[maybe_unused]] auto s = store.set_release_status(req.env, (*previous)->revision,
                                                             store::ReleaseStatus::active);
          rolled =
              make_error(Errc::rolled_back,
                         fmt::format("verification of {} failed, rolled back to revision {}:\n{}",
                                     req.env, (*previous)->revision, verified.error().message));
        } else {
          rolled = make_error(Errc::internal,
                              fmt::format("verification failed ({}) and rolling back failed: {}",
                                          verified.error().message, restored.error().message));
        }
      } else {
        rolled = verified;  // nothing to go back to: the class of the failed check
      }
    }
  }
  if (!rolled.ok()) {
    auto status = rolled.error().code == Errc::rolled_back ? store::ReleaseStatus::rolled_back
                                                           : store::ReleaseStatus::failed;
    [[maybe_unused]] auto s = store.set_release_status(req.env, release->revision, status);
    if (status == store::ReleaseStatus::rolled_back) {
      [[maybe_unused]] auto b = store.mark_bad(digest, rolled.error().message, req.env);
    }
    return rolled.take_error();
  }
  auto active = store.set_release_status(req.env, release->revision, store::ReleaseStatus::active);
  if (!active.ok()) {
    return active.take_error();
  }
  ZTP_TRY(store.set_last_known_good(req.env, release->revision));
  store::EnvState desired;
  desired.env = req.env;
  desired.replicas = env->replicas;
  desired.weights = nlohmann::json{{plan.next.release, 100}}.dump();
  ZTP_TRY(store.set_env_state(desired));
  return DeployOutcome{*active, "http://" + env->listen + "/"};
}

}  // namespace ztp::engine
