#pragma once

#include <chrono>

#include "engine/progress.hpp"
#include "spec/spec.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace ztp::engine {

// What a rollout needs to know beyond the strategy's own parameters.
struct RolloutPlan {
  target::ReleaseRef next;
  int replicas = 1;
  std::chrono::milliseconds start_timeout{60000};  // a new replica must be healthy by then
  std::chrono::milliseconds poll_interval{200};
};

// Replaces every other release set of plan.next.env with `plan.replicas` healthy replicas of
// plan.next, batch by batch within max_surge / max_unavailable, shifting weight in proportion
// to ready replicas; old replicas leave routing, drain, then stop. On any failure the new set
// is removed and the previous sets and weights are restored; the error is Errc::rolled_back
// with the reason (or the restore's failure, Errc::internal).
Result<void> rolling_update(target::Target& target, Clock& clock, const RolloutPlan& plan,
                            const spec::Rolling& params, const Progress& progress);

// Waits until `ids` of plan.next are all healthy. Errc::timeout when start_timeout passes,
// Errc::unhealthy when one crashes for good; the message names the replicas.
Result<void> wait_healthy(target::Target& target, Clock& clock, const RolloutPlan& plan,
                          const std::vector<std::string>& ids, const Progress& progress);

// Sets the weights of `env`'s release sets to `weights` in one change and reports them (a
// "weights" event). The target's error as it is.
Result<void> apply_weights(target::Target& target, const std::string& env,
                           const std::map<std::string, int>& weights, const Progress& progress);

// Drains and stops the replicas `ids` of `env` (nothing when there are none), reporting each
// step ("replica.draining", "replica.stopped"). The target's error as it is.
Result<void> drain_and_stop(target::Target& target, const std::string& env,
                            const std::vector<std::string>& ids, const Progress& progress);

// Weights proportional to each set's healthy replicas (counts given per release), summing to
// 100; all zero when no replica is healthy.
std::map<std::string, int> proportional_weights(const std::map<std::string, int>& healthy);

// `total` shared among `shares` in proportion to their values by largest remainder, so the
// parts add up to exactly `total` (all zero when every share is zero).
std::map<std::string, int> split_proportionally(int total,
                                                const std::map<std::string, int>& shares);

}  // namespace ztp::engine
