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

}  // namespace ztp::engine
