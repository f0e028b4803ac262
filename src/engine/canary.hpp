#pragma once

#include <chrono>
#include <string>

#include "engine/live_analysis.hpp"
#include "engine/progress.hpp"
#include "engine/rolling.hpp"
#include "engine/verify_fn.hpp"
#include "spec/spec.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace ztp::engine {

// True for the `canary.aborted` event of a step still inconclusive at its deadline: too little
// traffic to judge the release, so the rollback that follows is no verdict on its image.
bool ended_inconclusive(const ProgressEvent& e);

// Replicas of a canary that takes `weight`% of `replicas`' traffic: ceil(replicas × weight /
// 100), at least 1 and at most `replicas`.
int canary_replicas(int replicas, int weight);

// Moves plan.next.env to plan.next by params.steps. At each step the canary set grows to
// canary_replicas(plan.replicas, weight) healthy replicas, then one weight change gives it
// `weight` and the stable sets (those with traffic before) 100 − weight; the step's pause is
// analysed every k_analysis_interval (verify::analyse over the counters since the step began);
// inconclusive at the end of the pause extends up to analysis.deadline from the step start.
// After the last step the canary grows to plan.replicas, takes 100%, `verify` runs against
// `front_door_url` (the environment's listener, e.g. `http://127.0.0.1:8080`), and the stable
// sets drain and stop, unless `keep_stable_warm`: then they stay at weight 0 for the caller to
// stop (after a post-deploy watch, so that its rollback starts no process). With no stable set
// (a first deploy) the release goes straight to 100%. Any failure (a failed analysis, a replica
// never healthy, the verification) puts 100% back on the stable sets in one weight change, then
// stops the canary set: Errc::rolled_back with the reason and measured numbers, or
// Errc::internal when the restore failed too. A step still inconclusive at its deadline (and
// not passed by pass_when_inconclusive) aborts the same way, its `canary.aborted` event saying
// `inconclusive` (ended_inconclusive).
Result<void> canary_update(target::Target& target, Clock& clock, const RolloutPlan& plan,
                           const spec::Canary& params, const std::string& front_door_url,
                           const VerifyFn& verify, const Progress& progress,
                           bool keep_stable_warm = false);

}  // namespace ztp::engine
