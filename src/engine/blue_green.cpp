#include "engine/blue_green.hpp"

#include <fmt/format.h>

#include "engine/restore.hpp"
#include "util/duration.hpp"
#include "verify/verifier.hpp"

namespace ztp::engine {
namespace {

// Everything before the switch: the new set at full size, healthy, verified on the preview.
// The preview is closed again whatever happens.
Result<void> bring_up_and_verify(target::Target& target, Clock& clock, const RolloutPlan& plan,
                                 const spec::BlueGreen& params, const VerifyFn& verify,
                                 const Progress& progress) {
  const auto& env = plan.next.env;
  const auto& release = plan.next.release;
  auto url = verify::base_url_for_listen(params.preview_listen);
  if (!url.ok()) {
    return make_error(
        Errc::invalid,
        fmt::format("environment {}: blue_green preview_listen `{}` is not usable: {}; "
                    "set it to a free host:port in ztp.yaml",
                    env, params.preview_listen, url.error().message));
  }
  ZTP_TRY(target.prepare(plan.next));
  progress({"replica.starting",
            fmt::format("starting {} replica(s) of release {} with no share of traffic",
                        plan.replicas, release),
            {{"release", release}, {"count", plan.replicas}}});
  ZTP_ASSIGN_OR_RETURN(auto ids, target.add_replicas(plan.next, plan.replicas));
  ZTP_TRY(wait_healthy(target, clock, plan, ids, progress));

  auto opened = target.set_preview(env, release, params.preview_listen);
  if (!opened.ok()) {
    [[maybe_unused]] auto closed = target.clear_preview(env);
    return make_error(opened.error().code,
                      fmt::format("cannot open the preview listener {} for release {} of {}: {}",
                                  params.preview_listen, release, env, opened.error().message));
  }
  progress({"preview.opened",
            fmt::format("release {} previewed at {}", release, *url),
            {{"release", release}, {"url", *url}}});
  Result<void> verified;
  if (verify) {
    verified = verify(*url);
  }
  auto closed = target.clear_preview(env);
  progress({"preview.closed",
            fmt::format("preview of release {} closed", release),
            {{"release", release}, {"verified", verified.ok()}}});
  if (!verified.ok()) {
    return make_error(verified.error().code,
                      fmt::format("release {} of {} failed verification on its preview {}: {}",
                                  release, env, *url, verified.error().message));
  }
  if (!closed.ok()) {
    return make_error(closed.error().code,
                      fmt::format("cannot close the preview listener {} of {}: {}",
                                  params.preview_listen, env, closed.error().message));
  }
  progress({"preview.verified",
            fmt::format("release {} passed verification on its preview", release),
            {{"release", release}}});
  return {};
}

}  // namespace

std::map<std::string, int> all_to(const target::Observed& obs, const std::string& to) {
  std::map<std::string, int> weights;
  for (const auto& set : obs.sets) {
    weights[set.release] = 0;
  }
  weights[to] = 100;
  return weights;
}

Result<void> blue_green_update(target::Target& target, Clock& clock, const RolloutPlan& plan,
                               const spec::BlueGreen& params, const VerifyFn& verify,
                               const Progress& progress) {
  const auto& env = plan.next.env;
  const auto& release = plan.next.release;
  ZTP_ASSIGN_OR_RETURN(auto before, target.observe(env));
  progress({"rollout.started",
            fmt::format("blue-green {} to release {} ({} replicas, preview on {})", env, release,
                        plan.replicas, params.preview_listen),
            {{"release", release}, {"digest", plan.next.digest}}});

  auto result = bring_up_and_verify(target, clock, plan, params, verify, progress);
  if (result.ok()) {
    auto now = target.observe(env);
    if (!now.ok()) {
      result = now.take_error();
    } else {
      result = apply_weights(target, env, all_to(*now, release), progress);
      if (result.ok()) {
        std::vector<std::string> standby;
        for (const auto& set : now->sets) {
          if (set.release != release) {
            standby.push_back(set.release);
          }
        }
        std::string kept;
        if (!standby.empty()) {
          kept = fmt::format(
              "; release {} at weight 0 (the rollback target's set is kept warm for {})",
              fmt::join(standby, ", "), format_duration(params.keep_previous));
        }
        progress({"rollout.succeeded",
                  fmt::format("{} runs release {}{}", env, release, kept),
                  {{"standby", standby}}});
        return {};
      }
    }
  }

  return roll_back(target, clock, before, plan, result.error(), progress);
}

Result<void> switch_back(target::Target& target, const std::string& env,
                         const std::string& to_release) {
  ZTP_ASSIGN_OR_RETURN(auto obs, target.observe(env));
  const auto* set = obs.find(to_release);
  if (set == nullptr || set->replicas.empty()) {
    return make_error(Errc::not_found,
                      fmt::format("release {} no longer runs in {} (a standby set is kept only for "
                                  "keep_previous); deploy that release again instead",
                                  to_release, env));
  }
  if (set->healthy() == 0) {
    return make_error(Errc::unhealthy,
                      fmt::format("release {} runs in {} but none of its {} replica(s) is healthy; "
                                  "traffic was left where it is",
                                  to_release, env, set->replicas.size()));
  }
  return target.set_weights(env, all_to(obs, to_release));
}

}  // namespace ztp::engine
