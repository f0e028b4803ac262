#pragma once

#include <string>

#include "engine/progress.hpp"
#include "spec/spec.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"
#include "verify/analysis.hpp"

namespace ztp::engine {

// The post-deploy watch: keeps the live traffic of `release` of `env`, which a rollout has just
// completed, under analysis for params.window, judged every k_analysis_interval over the
// traffic since the watch began against params.limits (the absolute limits only: nothing else
// takes traffic to compare with). The first breach ends it: Errc::unhealthy with the reason
// and the measured numbers, e.g. `release 8 of prod failed its post-deploy watch 3s after its
// rollout: release 8 error rate 12.5% (5 of 40) above max 1.0%`. Otherwise returns the last
// judgement: pass, or inconclusive when fewer than min_requests came in the whole window (too
// little traffic to tell, which passes). Events: watch.started, watch.passed, watch.failed.
Result<verify::Judgement> watch_release(target::Target& target, Clock& clock,
                                        const std::string& env, const std::string& release,
                                        const spec::Watch& params, const Progress& progress);

}  // namespace ztp::engine
