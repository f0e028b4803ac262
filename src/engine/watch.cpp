#include "engine/watch.hpp"

#include <fmt/format.h>

#include "engine/live_analysis.hpp"
#include "util/duration.hpp"

namespace ztp::engine {

Result<verify::Judgement> watch_release(target::Target& target, Clock& clock,
                                        const std::string& env, const std::string& release,
                                        const spec::Watch& params, const Progress& progress) {
  const auto& limits = params.limits;
  progress({"watch.started",
            fmt::format("watching release {} of {} for {}: error rate at most {}, p95 at most {}, "
                        "judged from {} requests",
                        release, env, format_duration(params.window),
                        verify::format_percent(limits.max_error_rate),
                        format_duration(limits.max_p95), limits.min_requests),
            {{"release", release}, {"window_ms", params.window.count()}}});
  LiveAnalysis live{env, release, limits, params.window, "release " + release};
  live.limits.deadline = params.window;
  const auto began = clock.now();
  auto judged = analyse_live(target, clock, live);
  if (!judged.ok()) {
    return make_error(judged.error().code,
                      fmt::format("the post-deploy watch of release {} of {} cannot read its "
                                  "traffic: {}",
                                  release, env, judged.error().message));
  }
  auto data = judgement_json(*judged);
  data["release"] = release;
  auto after = format_duration(std::chrono::duration_cast<Clock::Duration>(clock.now() - began));
  if (judged->verdict == verify::Verdict::fail) {
    std::string why =
        fmt::format("release {} of {} failed its post-deploy watch {} after its rollout: {}",
                    release, env, after, judged->reason);
    progress({"watch.failed",
              fmt::format("post-deploy watch of release {} failed: {}", release, judged->reason),
              data});
    return make_error(Errc::unhealthy, why);
  }
  std::string summary = judged->verdict == verify::Verdict::pass
                            ? judged->reason
                            : judged->reason + ": too little traffic to judge, passed";
  progress({"watch.passed",
            fmt::format("release {} of {} passed its {} post-deploy watch ({})", release, env,
                        format_duration(params.window), summary),
            data});
  return judged;
}

}  // namespace ztp::engine
