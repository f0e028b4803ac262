#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"
#include "util/result.hpp"

// An environment as it stands: what the store records (current release, last known good,
// holds) and what its target observes (release sets, replicas, health, weights).
namespace ztp::server {

struct EnvView {
  const spec::Environment* env = nullptr;
  std::optional<store::Release> release;  // the active release
  std::optional<int64_t> last_known_good;
  std::optional<store::EnvHold> frozen;
  std::optional<store::EnvHold> isolated;
  std::optional<target::Observed> observed;  // nullopt when observing failed
  std::string error;                         // why: the target's message
};

using TargetFor = std::function<Result<target::Target*>(const std::string& env)>;

// Reads `env`'s records from `store` and observes it through `target_for`. A failure to observe
// is kept in `error` (the rest still shows); a store failure is returned.
Result<EnvView> view_environment(store::SqliteStore& store, const spec::Environment& env,
                                 const TargetFor& target_for);

// The API's form: {name, url, release, replicas: [{id, release_revision, port, alive, healthy,
// state, restarts, detail}], weights: {"<revision>": percent}, healthy, progressing, frozen,
// isolated, desired_replicas, error?}. progressing: a replica of a set other than the active
// release's is starting (a rollout or rollback under way). healthy: at least one replica takes
// traffic and every replica of a set with weight is healthy, leaving out those starting ones.
nlohmann::json to_json(const EnvView& view);

}  // namespace ztp::server
