#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "spec/spec.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"
#include "verify/analysis.hpp"

namespace ztp::engine {

// How often live traffic is judged while a canary step or a post-deploy watch runs, so a clear
// failure ends it early.
inline constexpr std::chrono::milliseconds k_analysis_interval{1000};

// One stretch of live traffic of `release` in `env` to judge against `limits`.
struct LiveAnalysis {
  std::string env;
  std::string release;
  spec::Analysis limits;  // its deadline bounds an inconclusive stretch (from the start)
  Clock::Duration pause{0};
  std::string subject = "canary";  // names the release in the reasons
  Clock::Duration interval = k_analysis_interval;
};

// Reads the counters of `a.env` now (the start) and then every `a.interval`, judging the
// traffic of `a.release` since the start (verify::analyse). Returns the first `fail` at once;
// otherwise the verdict at the end of the pause. An inconclusive verdict then extends the
// stretch until `limits.deadline` after the start (or the end of the pause, if later):
// `on_extended` is called once with the judgement and the time the stretch may take in all, and
// the judgement still inconclusive at the deadline is returned as it is. An error only when the
// counters cannot be read.
Result<verify::Judgement> analyse_live(
    target::Target& target, Clock& clock, const LiveAnalysis& a,
    const std::function<void(const verify::Judgement&, Clock::Duration)>& on_extended = {});

// The progress-event data of a judgement: verdict, reason and every measured number.
nlohmann::json judgement_json(const verify::Judgement& j);

}  // namespace ztp::engine
