#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/progress.hpp"
#include "engine/rolling.hpp"
#include "engine/verify_fn.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"
#include "verify/analysis.hpp"

namespace ztp::engine {

// One environment rolled to one image.
struct DeployRequest {
  std::string env;
  std::string image;          // a tag or digest in the OCI layout store, or empty with `dir`
  std::filesystem::path dir;  // packed into the layout store first when set
  bool wait_for_lock = true;  // false: fail at once when another rollout holds the environment
  bool force = false;         // deploy even a digest marked bad
  std::optional<int64_t> run_id;
  std::string actor = "cli";
  std::function<void(const std::string&)> on_lock_wait;
};

// What a successful deploy left running.
struct DeployOutcome {
  store::Release release;
  std::string url;
  std::optional<verify::Judgement> watch;  // the post-deploy watch's verdict, when it ran
};

// Rolls `req.env` to the image by its strategy, recording the release, its events and the
// outcome in `store`. Holds the environment's lock throughout, and first stops the standby
// sets whose window has passed (reap_standby); right after the switch (once the release is
// recorded active) it reaps again, so that of the earlier sets at most the rollback target's
// stays warm. With a post-deploy watch (env.watch), the
// release is active while watched and becomes the last known good only once the watch passed;
// a breach puts back what ran before (restore_previous). On failure the environment is back on
// what it ran before; the release is recorded rolled_back (its digest marked bad in the
// environment, unless a canary step only ran out of traffic to judge: ended_inconclusive) or
// failed, and the error says why (Errc::rolled_back when the previous state was restored).
Result<DeployOutcome> deploy(const spec::Spec& spec, const std::filesystem::path& home,
                             store::SqliteStore& store, target::Target& target, Clock& clock,
                             const DeployRequest& req, const Progress& progress);

// The environment `name` of `spec`; Errc::invalid naming the known ones when there is none.
Result<const spec::Environment*> find_environment(const spec::Spec& spec, const std::string& name);

// Resolves or builds the image a request names; returns its manifest digest and a reference
// for display (the tag when there is one).
Result<std::pair<std::string, std::string>> resolve_image(const spec::Spec& spec,
                                                          const std::filesystem::path& home,
                                                          const DeployRequest& req,
                                                          const Progress& progress);

// A VerifyFn that runs the environment's check suites against a base URL and reports every
// check as progress; empty when the environment verifies nothing.
VerifyFn environment_verifier(const spec::Spec& spec, const spec::Environment& env,
                              const Progress& progress);

// Runs the environment's strategy to move it to `plan.next`. `keep_previous_warm`: the canary
// leaves its stable sets at weight 0 instead of stopping them (see canary_update).
Result<void> run_strategy(target::Target& target, Clock& clock, const spec::Environment& env,
                          const RolloutPlan& plan, const VerifyFn& verify, const Progress& progress,
                          bool keep_previous_warm = false);

// run_strategy, then for rolling (which has no preview) `verify` where the release now serves:
// a failed verification puts back `before` (the environment as observed before the rollout)
// and is Errc::rolled_back; with nothing serving in `before` the check's own error is returned
// and the release keeps serving.
Result<void> roll_out(target::Target& target, Clock& clock, const spec::Environment& env,
                      const RolloutPlan& plan, const target::Observed& before,
                      const VerifyFn& verify, const Progress& progress,
                      bool keep_previous_warm = false);

// Whether some release set of `obs` has replicas and a share of traffic.
bool serves_traffic(const target::Observed& obs);

// A Progress that appends each event to the store's events of `env` (and run `run_id`), then
// passes it on to `progress` (when set). A failed append is logged, not fatal.
Progress recorder(store::SqliteStore& store, const std::string& env, std::optional<int64_t> run_id,
                  const Progress& progress);

// reap_standby, logging (not returning) a failure: a standby left running is no reason to stop
// a rollout. Returns the releases whose sets it stopped.
std::vector<std::string> reap_or_warn(const spec::Environment& env, store::SqliteStore& store,
                                      target::Target& target, Clock& clock,
                                      const Progress& progress);

// Records the desired state of `env`: its replicas, all traffic on `release`.
Result<void> record_desired_state(store::SqliteStore& store, const spec::Environment& env,
                                  const std::string& release);

}  // namespace ztp::engine
