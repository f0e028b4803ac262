#pragma once

#include <string>

#include "engine/progress.hpp"
#include "engine/rolling.hpp"
#include "engine/verify_fn.hpp"
#include "spec/spec.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace ztp::engine {

// Brings up plan.next at full size (plan.replicas) with weight 0, waits until every replica is
// healthy, serves it alone on the preview listener params.preview_listen, runs `verify` against
// that listener's URL, closes the preview, then moves 100% of the front door to it and 0 to
// every other set in one weight change. The previous sets keep running at weight 0: the caller
// then keeps the rollback target's set warm for switch_back until keep_previous ends and stops
// the others at once (reap_standby). A failure before the
// switch stops the new set and leaves the earlier weights as they were: Errc::rolled_back with
// the reason (the verification's own text included), or Errc::internal when the restore failed.
Result<void> blue_green_update(target::Target& target, Clock& clock, const RolloutPlan& plan,
                               const spec::BlueGreen& params, const VerifyFn& verify,
                               const Progress& progress);

// 100% to `to`, 0 to every other set of `obs`, as one weight map.
std::map<std::string, int> all_to(const target::Observed& obs, const std::string& to);

// The instant rollback inside keep_previous: 100% to the running set `to_release`, 0 to every
// other, in one weight change; no process is started. Errc::not_found when that set no longer
// runs in `env`, Errc::unhealthy when none of its replicas is healthy (nothing is changed).
Result<void> switch_back(target::Target& target, const std::string& env,
                         const std::string& to_release);

}  // namespace ztp::engine
