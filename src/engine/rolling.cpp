#include "engine/rolling.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "engine/restore.hpp"

namespace ztp::engine {
namespace {

using target::Observed;
using target::Replica;

struct Counts {
  int new_total = 0;
  int new_healthy = 0;
  int old_total = 0;
  std::map<std::string, int> healthy_by_release;
};

Counts count(const Observed& obs, const std::string& next) {
  Counts c;
  for (const auto& set : obs.sets) {
    int healthy = set.healthy();
    c.healthy_by_release[set.release] = healthy;
    if (set.release == next) {
      c.new_total = static_cast<int>(set.replicas.size());
      c.new_healthy = healthy;
    } else {
      c.old_total += static_cast<int>(set.replicas.size());
    }
  }
  return c;
}

// Old replicas to take out next: the unhealthy ones first, then the newest.
std::vector<std::string> pick_old(const Observed& obs, const std::string& next, int n) {
  std::vector<const Replica*> old;
  for (const auto& set : obs.sets) {
    if (set.release == next) {
      continue;
    }
    for (const auto& r : set.replicas) {
      old.push_back(&r);
    }
  }
  std::stable_sort(old.begin(), old.end(), [](const Replica* a, const Replica* b) {
    bool a_bad = a->state != Replica::State::healthy;
    bool b_bad = b->state != Replica::State::healthy;
    if (a_bad != b_bad) {
      return a_bad;
    }
    return a->id > b->id;
  });
  std::vector<std::string> ids;
  for (int i = 0; i < n && i < static_cast<int>(old.size()); ++i) {
    ids.push_back(old[static_cast<size_t>(i)]->id);
  }
  return ids;
}

// Healthy counts per release once `leaving` replicas are gone.
std::map<std::string, int> healthy_after(const Observed& obs,
                                         const std::vector<std::string>& leaving) {
  std::set<std::string> gone(leaving.begin(), leaving.end());
  std::map<std::string, int> out;
  for (const auto& set : obs.sets) {
    int n = 0;
    for (const auto& r : set.replicas) {
      if (r.state == Replica::State::healthy && gone.count(r.id) == 0) {
        ++n;
      }
    }
    out[set.release] = n;
  }
  return out;
}

// Replicas of plan.next that do not serve when the rollout starts were left by a process that
// died half-way (stopped or draining while it removed them, never routed while it added them).
// They would count toward the set's size while never becoming healthy, so the rollout could
// neither start their replacements nor retire the last old replicas: they leave first.
Result<void> retire_leftovers(target::Target& target, const RolloutPlan& plan,
                              const Progress& progress) {
  ZTP_ASSIGN_OR_RETURN(auto obs, target.observe(plan.next.env));
  const auto* set = obs.find(plan.next.release);
  if (set == nullptr) {
    return {};
  }
  std::vector<std::string> ids;
  std::vector<std::string> described;
  for (const auto& r : set->replicas) {
    if (r.state != Replica::State::healthy) {
      ids.push_back(r.id);
      described.push_back(fmt::format("{} ({})", r.id, target::state_name(r.state)));
    }
  }
  if (ids.empty()) {
    return {};
  }
  progress({"replica.draining",
            fmt::format("removing replicas of release {} that do not serve: {}", plan.next.release,
                        fmt::join(described, ", ")),
            {{"replicas", ids}}});
  ZTP_TRY(target.remove_replicas(plan.next.env, ids));
  progress(
      {"replica.stopped", fmt::format("stopped {}", fmt::join(ids, ", ")), {{"replicas", ids}}});
  return {};
}

Result<void> step(target::Target& target, Clock& clock, const RolloutPlan& plan,
                  const spec::Rolling& params, const Progress& progress) {
  const auto& env = plan.next.env;
  const int want = plan.replicas;
  int surge = params.max_surge;
  int unavailable = std::min(params.max_unavailable, want);
  if (surge <= 0 && unavailable <= 0) {
    surge = 1;  // neither may move: a rollout could never progress
  }
  ZTP_TRY(target.prepare(plan.next));
  ZTP_TRY(retire_leftovers(target, plan, progress));
  while (true) {
    auto obs = target.observe(env);
    if (!obs.ok()) {
      return obs.take_error();
    }
    Counts c = count(*obs, plan.next.release);
    if (c.new_healthy >= want && c.old_total == 0 && c.new_total == want) {
      auto weights = proportional_weights(c.healthy_by_release);
      return target.set_weights(env, weights);
    }

    // Start new replicas within the surge.
    int to_start = std::min(want - c.new_total, want + surge - (c.old_total + c.new_total));
    if (to_start > 0) {
      progress({"replica.starting",
                fmt::format("starting {} replica(s) of release {}", to_start, plan.next.release),
                {{"release", plan.next.release}, {"count", to_start}}});
      ZTP_ASSIGN_OR_RETURN(auto ids, target.add_replicas(plan.next, to_start));
      ZTP_TRY(wait_healthy(target, clock, plan, ids, progress));
      obs = target.observe(env);
      if (!obs.ok()) {
        return obs.take_error();
      }
      c = count(*obs, plan.next.release);
    }

    // Retire old replicas while enough stay available.
    int removable = std::min(c.old_total, c.old_total + c.new_healthy - (want - unavailable));
    std::vector<std::string> leaving = pick_old(*obs, plan.next.release, std::max(removable, 0));
    ZTP_TRY(
        apply_weights(target, env, proportional_weights(healthy_after(*obs, leaving)), progress));
    ZTP_TRY(drain_and_stop(target, env, leaving, progress));
    if (to_start <= 0 && leaving.empty()) {
      return make_error(
          Errc::internal,
          fmt::format("rolling update of {} cannot progress: {} new ({} healthy), {} old replicas",
                      env, c.new_total, c.new_healthy, c.old_total));
    }
  }
}

}  // namespace

std::map<std::string, int> split_proportionally(int total,
                                                const std::map<std::string, int>& shares) {
  int sum = 0;
  for (const auto& [_, share] : shares) {
    sum += share;
  }
  std::map<std::string, int> out;
  if (sum == 0) {
    for (const auto& [key, _] : shares) {
      out[key] = 0;
    }
    return out;
  }
  // Largest remainder, so the parts always add up to exactly `total`.
  int assigned = 0;
  std::vector<std::pair<int, std::string>> remainders;
  for (const auto& [key, share] : shares) {
    out[key] = total * share / sum;
    assigned += out[key];
    remainders.emplace_back(total * share % sum, key);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; assigned < total && i < remainders.size(); ++i, ++assigned) {
    out[remainders[i].second] += 1;
  }
  return out;
}

std::map<std::string, int> proportional_weights(const std::map<std::string, int>& healthy) {
  return split_proportionally(100, healthy);
}

Result<void> apply_weights(target::Target& target, const std::string& env,
                           const std::map<std::string, int>& weights, const Progress& progress) {
  ZTP_TRY(target.set_weights(env, weights));
  progress({"weights",
            fmt::format("weights {}", nlohmann::json(weights).dump()),
            {{"weights", weights}}});
  return {};
}

Result<void> drain_and_stop(target::Target& target, const std::string& env,
                            const std::vector<std::string>& ids, const Progress& progress) {
  if (ids.empty()) {
    return {};
  }
  progress(
      {"replica.draining", fmt::format("draining {}", fmt::join(ids, ", ")), {{"replicas", ids}}});
  ZTP_TRY(target.remove_replicas(env, ids));
  progress(
      {"replica.stopped", fmt::format("stopped {}", fmt::join(ids, ", ")), {{"replicas", ids}}});
  return {};
}

Result<void> wait_healthy(target::Target& target, Clock& clock, const RolloutPlan& plan,
                          const std::vector<std::string>& ids, const Progress& progress) {
  auto deadline = clock.now() + plan.start_timeout;
  std::set<std::string> reported;
  while (true) {
    ZTP_ASSIGN_OR_RETURN(auto obs, target.observe(plan.next.env));
    const auto* set = obs.find(plan.next.release);
    std::vector<std::string> waiting;
    for (const auto& id : ids) {
      const Replica* found = nullptr;
      if (set != nullptr) {
        for (const auto& r : set->replicas) {
          if (r.id == id) {
            found = &r;
          }
        }
      }
      if (found == nullptr || found->state == Replica::State::stopped ||
          found->state == Replica::State::crashed) {
        std::string why = found == nullptr ? "it is gone" : found->detail;
        return make_error(Errc::unhealthy, fmt::format("replica {} of release {} in {} crashed: {}",
                                                       id, plan.next.release, plan.next.env,
                                                       why.empty() ? "no detail" : why));
      }
      if (found->state == Replica::State::healthy) {
        if (reported.insert(id).second) {
          progress({"replica.healthy",
                    fmt::format("{} is healthy at {}", id, found->address),
                    {{"replica", id}, {"address", found->address}}});
        }
      } else {
        waiting.push_back(id + (found->detail.empty() ? "" : " (" + found->detail + ")"));
      }
    }
    if (waiting.empty()) {
      return {};
    }
    if (clock.now() >= deadline) {
      return make_error(Errc::timeout,
                        fmt::format("{} of release {} in {} did not become healthy within {} ms",
                                    fmt::join(waiting, ", "), plan.next.release, plan.next.env,
                                    plan.start_timeout.count()));
    }
    clock.sleep_for(plan.poll_interval);
  }
}

Result<void> rolling_update(target::Target& target, Clock& clock, const RolloutPlan& plan,
                            const spec::Rolling& params, const Progress& progress) {
  ZTP_ASSIGN_OR_RETURN(auto before, target.observe(plan.next.env));
  progress({"rollout.started",
            fmt::format("rolling {} to release {} ({} replicas, max_surge {}, max_unavailable {})",
                        plan.next.env, plan.next.release, plan.replicas, params.max_surge,
                        params.max_unavailable),
            {{"release", plan.next.release}, {"digest", plan.next.digest}}});
  auto result = step(target, clock, plan, params, progress);
  if (result.ok()) {
    progress({"rollout.succeeded",
              fmt::format("{} runs release {}", plan.next.env, plan.next.release),
              {}});
    return {};
  }
  return roll_back(target, clock, before, plan, result.error(), progress);
}

}  // namespace ztp::engine
