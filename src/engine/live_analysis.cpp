#include "engine/live_analysis.hpp"

#include <algorithm>

namespace ztp::engine {

using verify::Judgement;
using verify::Verdict;

Result<Judgement> analyse_live(
    target::Target& target, Clock& clock, const LiveAnalysis& a,
    const std::function<void(const Judgement&, Clock::Duration)>& on_extended) {
  ZTP_ASSIGN_OR_RETURN(auto start, target.metrics(a.env));
  const auto began = clock.now();
  const auto pause_end = began + a.pause;
  const auto deadline = std::max(pause_end, began + a.limits.deadline);
  const Clock::Duration interval = std::max(a.interval, Clock::Duration{1});
  bool extended = false;
  while (true) {
    auto now = clock.now();
    auto until = now < pause_end ? pause_end : deadline;
    if (now < until) {
      clock.sleep_for(
          std::min<Clock::Duration>(interval, std::chrono::ceil<Clock::Duration>(until - now)));
    }
    ZTP_ASSIGN_OR_RETURN(auto reading, target.metrics(a.env));
    Judgement j = verify::analyse(start, reading, a.release, a.limits, a.subject);
    if (j.verdict == Verdict::fail) {
      return j;
    }
    now = clock.now();
    if (now < pause_end) {
      continue;
    }
    if (j.verdict == Verdict::pass || now >= deadline) {
      return j;
    }
    if (!extended) {
      extended = true;
      if (on_extended) {
        on_extended(j, std::chrono::duration_cast<Clock::Duration>(deadline - began));
      }
    }
  }
}

nlohmann::json judgement_json(const Judgement& j) {
  const auto& m = j.measured;
  return {{"verdict", verify::verdict_name(j.verdict)},
          {"error_rate", m.error_rate},
          {"p95_ms", m.p95_ms},
          {"requests", m.requests},
          {"errors", m.errors},
          {"stable_error_rate", m.stable_error_rate},
          {"stable_requests", m.stable_requests},
          {"stable_errors", m.stable_errors},
          {"reason", j.reason}};
}

}  // namespace ztp::engine
