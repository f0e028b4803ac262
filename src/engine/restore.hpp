#pragma once

#include "engine/progress.hpp"
#include "engine/rolling.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace ztp::engine {

// Puts an environment back as `before` was: removes every replica of `failed_release`, brings
// each earlier release set back to its replica count (starting replicas where some were
// stopped, waiting for them to be healthy), then restores the earlier weights in one change.
Result<void> restore_previous(target::Target& target, Clock& clock, const target::Observed& before,
                              const RolloutPlan& plan, const Progress& progress);

// Ends a failed rollout: reports `failure`, restores `before` (restore_previous) and returns
// Errc::rolled_back with the failure's reason, or Errc::internal when restoring failed too.
Error roll_back(target::Target& target, Clock& clock, const target::Observed& before,
                const RolloutPlan& plan, const Error& failure, const Progress& progress);

}  // namespace ztp::engine
