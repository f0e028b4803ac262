#include "engine/canary.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/blue_green.hpp"
#include "engine/live_analysis.hpp"
#include "engine/restore.hpp"
#include "util/duration.hpp"
#include "verify/analysis.hpp"

namespace ztp::engine {
namespace {

using verify::Judgement;
using verify::Verdict;

nlohmann::json numbers(const Judgement& j, int weight) {
  auto data = judgement_json(j);
  data["weight"] = weight;
  return data;
}

class CanaryRun {
 public:
  CanaryRun(target::Target& target, Clock& clock, const RolloutPlan& plan,
            const spec::Canary& params, const std::map<std::string, int>& stable,
            const Progress& progress, bool keep_stable_warm)
      : m_target(target),
        m_clock(clock),
        m_plan(plan),
        m_params(params),
        m_stable(stable),
        m_progress(progress),
        m_keep_stable_warm(keep_stable_warm) {}

  // Every step, then promotion; an error leaves the restore to the caller.
  Result<void> run(const std::string& front_door_url, const VerifyFn& verify) {
    ZTP_TRY(m_target.prepare(m_plan.next));
    if (m_stable.empty()) {
      m_progress({"canary.skipped",
                  fmt::format("no release takes traffic in {}: release {} goes straight to 100%",
                              env(), release()),
                  {{"release", release()}}});
    } else {
      ZTP_TRY(scale_to(canary_replicas(m_plan.replicas, m_params.steps.front().weight)));
      for (size_t i = 0; i < m_params.steps.size(); ++i) {
        ZTP_TRY(run_step(i));
      }
    }
    return promote(front_door_url, verify);
  }

 private:
  const std::string& env() const { return m_plan.next.env; }
  const std::string& release() const { return m_plan.next.release; }

  // Grows the canary set to `want` replicas (never shrinks it) and waits for the new ones.
  Result<void> scale_to(int want) {
    ZTP_ASSIGN_OR_RETURN(auto obs, m_target.observe(env()));
    const auto* set = obs.find(release());
    int have = set == nullptr ? 0 : static_cast<int>(set->replicas.size());
    if (have >= want) {
      return {};
    }
    m_progress({"replica.starting",
                fmt::format("starting {} replica(s) of release {}", want - have, release()),
                {{"release", release()}, {"count", want - have}}});
    ZTP_ASSIGN_OR_RETURN(auto ids, m_target.add_replicas(m_plan.next, want - have));
    return wait_healthy(m_target, m_clock, m_plan, ids, m_progress);
  }

  Result<void> set_weights(int weight) {
    auto weights = split_proportionally(100 - weight, m_stable);
    weights[release()] = weight;
    return apply_weights(m_target, env(), weights, m_progress);
  }

  Result<void> run_step(size_t index) {
    const auto& step = m_params.steps[index];
    m_progress(
        {"canary.step",
         fmt::format("canary step {} of {}: release {} at {}% for {}", index + 1,
                     m_params.steps.size(), release(), step.weight, format_duration(step.pause)),
         {{"step", index + 1},
          {"weight", step.weight},
          {"pause_ms", step.pause.count()},
          {"release", release()}}});
    ZTP_TRY(scale_to(canary_replicas(m_plan.replicas, step.weight)));
    ZTP_TRY(set_weights(step.weight));
    ZTP_ASSIGN_OR_RETURN(const Judgement& j, watch(step));
    m_progress({"canary.analysis",
                fmt::format("canary at {}%: {} ({})", step.weight, verify::verdict_name(j.verdict),
                            j.reason),
                numbers(j, step.weight)});
    if (j.verdict == Verdict::pass) {
      return {};
    }
    // Still inconclusive at the deadline: too little traffic to judge, which is no verdict on
    // the image (see ended_inconclusive).
    std::string why = fmt::format(
        "canary release {} of {} {} at {}%: {}", release(), env(),
        j.verdict == Verdict::inconclusive ? "could not be judged" : "failed its analysis",
        step.weight, j.reason);
    m_progress({"canary.aborted", why, numbers(j, step.weight)});
    return make_error(Errc::unhealthy, why);
  }

  // Analyses one step's traffic (analyse_live); still inconclusive at the deadline, the step
  // passes when analysis.pass_when_inconclusive says so, else stays inconclusive (and aborts).
  Result<Judgement> watch(const spec::CanaryStep& step) {
    const auto& analysis = m_params.analysis;
    LiveAnalysis live{env(), release(), analysis, step.pause};
    const auto began = m_clock.now();
    auto judged =
        analyse_live(m_target, m_clock, live, [&](const Judgement& j, Clock::Duration until) {
          m_progress({"canary.inconclusive",
                      fmt::format("canary at {}%: {}; waiting up to {} "
                                  "from the step's start",
                                  step.weight, j.reason, format_duration(until)),
                      numbers(j, step.weight)});
        });
    if (!judged.ok() || judged->verdict != Verdict::inconclusive) {
      return judged;
    }
    Judgement j = std::move(*judged);
    auto waited =
        format_duration(std::chrono::duration_cast<Clock::Duration>(m_clock.now() - began));
    if (analysis.pass_when_inconclusive) {
      j.verdict = Verdict::pass;
      j.reason =
          fmt::format("{} after {}; passed as analysis.inconclusive: pass says", j.reason, waited);
    } else {
      j.reason =
          fmt::format("{} by the analysis deadline ({} after the step began)", j.reason, waited);
    }
    return j;
  }

  // Full size, 100% to the canary (the stable sets stay warm at 0 until verified), verify
  // through the front door, then drain and stop the stable sets (or leave them warm).
  Result<void> promote(const std::string& front_door_url, const VerifyFn& verify) {
    ZTP_TRY(scale_to(m_plan.replicas));
    auto obs = m_target.observe(env());
    if (!obs.ok()) {
      return obs.take_error();
    }
    ZTP_TRY(apply_weights(m_target, env(), all_to(*obs, release()), m_progress));
    if (verify) {
      auto verified = verify(front_door_url);
      if (!verified.ok()) {
        return make_error(verified.error().code,
                          fmt::format("release {} of {} failed verification at {} after taking "
                                      "100%: {}",
                                      release(), env(), front_door_url, verified.error().message));
      }
      m_progress({"canary.verified",
                  fmt::format("release {} passed verification at {}", release(), front_door_url),
                  {{"release", release()}, {"url", front_door_url}}});
    }
    if (m_keep_stable_warm && !m_stable.empty()) {
      std::vector<std::string> kept;
      for (const auto& [stable, _] : m_stable) {
        kept.push_back(stable);
      }
      m_progress({"canary.stable_kept",
                  fmt::format("release {} kept warm at weight 0 for the post-deploy watch",
                              fmt::join(kept, ", ")),
                  {{"releases", kept}}});
      return {};
    }
    std::vector<std::string> leaving;
    for (const auto& set : obs->sets) {
      if (m_stable.count(set.release) > 0) {
        for (const auto& r : set.replicas) {
          leaving.push_back(r.id);
        }
      }
    }
    return drain_and_stop(m_target, env(), leaving, m_progress);
  }

  target::Target& m_target;
  Clock& m_clock;
  const RolloutPlan& m_plan;
  const spec::Canary& m_params;
  std::map<std::string, int> m_stable;  // release sets with traffic before, with their weights
  const Progress& m_progress;
  bool m_keep_stable_warm;
};

}  // namespace

bool ended_inconclusive(const ProgressEvent& e) {
  return e.kind == "canary.aborted" && e.data.is_object() &&
         e.data.value("verdict", "") == verify::verdict_name(Verdict::inconclusive);
}

int canary_replicas(int replicas, int weight) {
  int n = (replicas * weight + 99) / 100;
  return std::clamp(n, 1, std::max(replicas, 1));
}

Result<void> canary_update(target::Target& target, Clock& clock, const RolloutPlan& plan,
                           const spec::Canary& params, const std::string& front_door_url,
                           const VerifyFn& verify, const Progress& progress,
                           bool keep_stable_warm) {
  const auto& env = plan.next.env;
  if (params.steps.empty()) {
    return make_error(Errc::invalid,
                      fmt::format("environment {}: the canary strategy has no steps; list them "
                                  "under strategy.canary.steps in ztp.yaml",
                                  env));
  }
  auto before = target.observe(env);
  if (!before.ok()) {
    return before.take_error();
  }
  std::map<std::string, int> stable;
  for (const auto& set : before->sets) {
    if (set.release != plan.next.release && set.weight > 0) {
      stable[set.release] = set.weight;
    }
  }
  std::vector<int> weights;
  for (const auto& step : params.steps) {
    weights.push_back(step.weight);
  }
  progress({"rollout.started",
            fmt::format("canary {} to release {} ({} replicas, steps {}%)", env, plan.next.release,
                        plan.replicas, fmt::join(weights, "%, ")),
            {{"release", plan.next.release}, {"digest", plan.next.digest}}});

  CanaryRun run(target, clock, plan, params, stable, progress, keep_stable_warm);
  auto result = run.run(front_door_url, verify);
  if (result.ok()) {
    progress({"rollout.succeeded", fmt::format("{} runs release {}", env, plan.next.release), {}});
    return {};
  }
  return roll_back(target, clock, *before, plan, result.error(), progress);
}

}  // namespace ztp::engine
