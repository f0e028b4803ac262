#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"
#include "target/target.hpp"

// Canary analysis: a judgement on the live traffic of a release set over a window, from two
// readings of the router's monotonic per-release counters. Pure functions, no I/O.
// docs/strategies.md states the rules and their formulas; keep the two in step.
namespace ztp::verify {

// The traffic of one release set (or of several, merged) between two readings.
struct Window {
  uint64_t requests = 0;
  uint64_t errors = 0;                   // 5xx answers, connect errors, upstream timeouts
  std::vector<double> bucket_bounds_ms;  // latency histogram: upper bounds, ascending
  std::vector<uint64_t> bucket_counts;   // same length; the last bound may be +inf
};

// `now` minus `start` for one release. A counter lower than at the start (the router
// restarted and counts again from zero) makes the window the whole of `now`, as does a
// histogram whose bounds changed.
Window window_between(const target::ReleaseMetrics& start, const target::ReleaseMetrics& now);

// errors / requests, 0 when there was no request.
double error_rate(const Window& w);

// The 95th percentile latency in ms: the smallest latency with at least 95% of the window's
// observations at or below it (rank ceil(0.95 × n)), interpolated linearly inside its bucket
// from the bucket's lower bound (the previous upper bound, 0 for the first) to its upper
// bound. A rank in an unbounded last bucket gives the last finite bound (a lower estimate).
// 0 when the histogram is empty.
double p95_ms(const Window& w);

enum class Verdict { pass, fail, inconclusive };

// "pass" | "fail" | "inconclusive".
std::string_view verdict_name(Verdict v);

// What the analysis measured, for the record and the reason text.
struct Measured {
  uint64_t requests = 0;
  uint64_t errors = 0;
  double error_rate = 0;  // a fraction: 0.125 is 12.5%
  double p95_ms = 0;
  uint64_t stable_requests = 0;
  uint64_t stable_errors = 0;
  double stable_error_rate = 0;
};

// A verdict with the numbers it rests on and one line saying why, e.g.
// `canary error rate 12.5% (5 of 40) above max 1.0%`.
struct Judgement {
  Verdict verdict = Verdict::inconclusive;
  Measured measured;
  std::string reason;
};

// Errors the canary must have made before its rate is compared with the stable set's:
// fewer are too few to tell a worse release from chance.
inline constexpr uint64_t k_min_compared_errors = 3;

// Judges a canary's window against the stable set's window (the other release sets, merged)
// and the spec's limits, in this order:
//  1. canary requests < min_requests                                   → inconclusive
//  2. canary error rate > max_error_rate                               → fail
//  3. canary errors ≥ k_min_compared_errors, stable requests ≥ min_requests,
//     canary rate > 2 × stable rate and canary rate − stable rate > max_error_rate / 2
//                                                                      → fail
//  4. canary p95 > max_p95                                             → fail
//  5. otherwise                                                        → pass
// `subject` names the judged set in the reason ("canary error rate …", "release 8 p95 …").
Judgement judge(const Window& canary, const Window& stable, const spec::Analysis& limits,
                std::string_view subject = "canary");

// judge() over two full readings of an environment's counters: the canary is `canary_release`,
// the stable set every other release present in `now`. A release missing from `start` counts
// from zero; one missing from `now` had no traffic.
Judgement analyse(const std::vector<target::ReleaseMetrics>& start,
                  const std::vector<target::ReleaseMetrics>& now, const std::string& canary_release,
                  const spec::Analysis& limits, std::string_view subject = "canary");

// A fraction as a percentage for people: 0.125 → "12.5%", 0.01 → "1.0%", 0.0004 → "0.04%".
std::string format_percent(double fraction);

}  // namespace ztp::verify
