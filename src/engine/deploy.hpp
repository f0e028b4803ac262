#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "engine/progress.hpp"
#include "engine/rolling.hpp"
#include "engine/verify_fn.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

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
};

// Rolls `req.env` to the image by its strategy, recording the release, its events and the
// outcome in `store`. Holds the environment's lock throughout. On failure the environment is
// back on what it ran before; the release is recorded failed and the error says why
// (Errc::rolled_back when the strategy restored the previous state).
Result<DeployOutcome> deploy(const spec::Spec& spec, const std::filesystem::path& home,
                             store::SqliteStore& store, target::Target& target, Clock& clock,
                             const DeployRequest& req, const Progress& progress);

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

// Runs the environment's strategy to move it to `plan.next`.
Result<void> run_strategy(target::Target& target, Clock& clock, const spec::Environment& env,
                          const RolloutPlan& plan, const VerifyFn& verify,
                          const Progress& progress);

}  // namespace ztp::engine
