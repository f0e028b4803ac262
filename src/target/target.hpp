#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace ztp::target {

// The first of `items` (release sets, metrics) whose `release` is `release`; null when none is.
template <typename T>
const T* find_release(const std::vector<T>& items, const std::string& release) {
  auto it =
      std::find_if(items.begin(), items.end(), [&](const T& x) { return x.release == release; });
  return it == items.end() ? nullptr : &*it;
}

// What a strategy asks a target to run: one release of the application in one environment.
struct ReleaseRef {
  std::string env;
  std::string release;  // the release's label: its revision in the environment, e.g. "7"
  std::string digest;   // the image's manifest digest
};

// A replica as the target and its router see it.
struct Replica {
  enum class State { starting, healthy, unhealthy, draining, stopped, crashed };
  std::string id;       // unique in the environment, e.g. "dev-r7-0"
  std::string release;  // label of the release it runs
  std::string address;  // host:port it serves on
  State state = State::starting;
  int restarts = 0;
  std::string detail;  // why it is unhealthy or crashed, when known
};

// The replicas of one release in one environment and their share of traffic.
struct ReleaseSet {
  std::string release;
  std::string digest;
  int weight = 0;  // 0-100
  std::vector<Replica> replicas;
  int healthy() const;
};

// What runs in an environment now: its release sets, as observed.
struct Observed {
  std::string env;
  std::vector<ReleaseSet> sets;
  const ReleaseSet* find(const std::string& release) const { return find_release(sets, release); }
};

std::string_view state_name(Replica::State state);

// Live traffic counters of one release set since its router started counting (monotonic:
// analysis works on the difference of two readings).
struct ReleaseMetrics {
  std::string release;
  uint64_t requests = 0;
  uint64_t errors = 0;                   // 5xx answers, connect errors and upstream timeouts
  std::vector<double> bucket_bounds_ms;  // latency histogram: upper bounds, ascending
  std::vector<uint64_t> bucket_counts;   // same length; the last bucket may be +inf
};

// What the router really serves for one environment (drift detection compares it with the
// desired weights and with the replicas that run).
struct RoutedSet {
  std::string release;
  int weight = 0;
  std::vector<std::pair<std::string, std::string>> backends;  // (replica id, host:port)
};
struct RouteView {
  bool router_up = true;   // false: the router does not answer (then nothing else is known)
  bool env_routed = true;  // false: it answers but serves no routes for the environment
  std::vector<RoutedSet> sets;
  const RoutedSet* find(const std::string& release) const { return find_release(sets, release); }
};

// One file of a release's directory that differs from the image it was unpacked from.
struct FileChange {
  enum class Kind { modified, added, removed };
  std::string path;  // relative to the release directory
  Kind kind = Kind::modified;
};
std::string_view change_name(FileChange::Kind kind);
// "modified src/index.html, added x.sh (and 3 more)": the first five changes, in order.
std::string describe_changes(const std::vector<FileChange>& changes);

// Places release sets and steers traffic between them. Every strategy is written against this
// interface only, so it works on every target. Implementations: LocalTarget (processes behind
// ztp proxy); a FakeTarget in tests.
class Target {
 public:
  virtual ~Target() = default;

  // Makes the release's files available where replicas run (e.g. unpacks the image). Idempotent.
  virtual Result<void> prepare(const ReleaseRef& release) = 0;

  // Starts `count` new replicas of `release`. They join the release set with no share of
  // traffic beyond the set's current weight and are health-checked by the router; returns their
  // ids.
  virtual Result<std::vector<std::string>> add_replicas(const ReleaseRef& release, int count) = 0;

  // The environment as it runs now: sets, replicas, health, weights.
  virtual Result<Observed> observe(const std::string& env) = 0;

  // Sets the traffic weight of each listed release set in one atomic change; sets not listed
  // keep theirs.
  virtual Result<void> set_weights(const std::string& env,
                                   const std::map<std::string, int>& weights) = 0;

  // Takes replicas out of routing, waits for their in-flight requests (bounded by the drain
  // timeout), then stops them. A release set left empty disappears.
  virtual Result<void> remove_replicas(const std::string& env,
                                       const std::vector<std::string>& ids) = 0;

  // Stops every replica of `env` (draining first) and forgets its routes.
  virtual Result<void> down(const std::string& env) = 0;

  // Live per-release traffic counters of `env` (the input of canary analysis).
  virtual Result<std::vector<ReleaseMetrics>> metrics(const std::string& env) = 0;

  // Serves release set `release` of `env` alone on a second listener `listen` (host:port), for
  // verifying it before it takes any share of the front door. Replaces an earlier preview.
  virtual Result<void> set_preview(const std::string& env, const std::string& release,
                                   const std::string& listen) = 0;
  // Closes the preview listener of `env`, if any.
  virtual Result<void> clear_preview(const std::string& env) = 0;

  // --- drift detection and repair (defaults for targets that cannot tell more) ---

  // The router's routes of `env` as it serves them. Default: every replica of observe() routed
  // in its set at the set's weight.
  virtual Result<RouteView> routes(const std::string& env);
  // Files of `release`'s directory that differ from its image. Default: none known.
  virtual Result<std::vector<FileChange>> changed_files(const ReleaseRef& release);
  // Per replica of `env`, the files rendered for it at start (its config) that differ from what
  // the spec's templates render for it now. Default: none known.
  virtual Result<std::map<std::string, std::vector<FileChange>>> changed_config(
      const std::string& env);
  // Puts a pristine copy of `release`'s files in place (replicas started afterwards run it);
  // running replicas are left to the caller to replace. Default: prepare(release).
  virtual Result<void> refresh_release(const ReleaseRef& release);
  // Starts the router when it does not answer (it restores the routes it saved). Default: ok.
  virtual Result<void> ensure_router();
  // Rebuilds the routes of `env` from the replicas that run, but those in `leaving` (about to be
  // removed): each in its release set, sets at `weights` (0 when not listed), unknown backends
  // dropped; one atomic change. Default: set_weights over every observed set.
  virtual Result<void> reset_routes(const std::string& env,
                                    const std::map<std::string, int>& weights,
                                    const std::set<std::string>& leaving);
};

}  // namespace ztp::target
