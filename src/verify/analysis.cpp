#include "verify/analysis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ztp::verify {
namespace {

std::string format_ms(double ms) {
  if (ms >= 10) {
    return fmt::format("{:.0f} ms", ms);
  }
  return fmt::format("{:.1f} ms", ms);
}

}  // namespace

Window window_between(const target::ReleaseMetrics& start, const target::ReleaseMetrics& now) {
  Window w;
  bool restarted = now.requests < start.requests || now.errors < start.errors ||
                   start.bucket_bounds_ms != now.bucket_bounds_ms ||
                   start.bucket_counts.size() != now.bucket_counts.size();
  for (size_t i = 0; !restarted && i < now.bucket_counts.size(); ++i) {
    restarted = now.bucket_counts[i] < start.bucket_counts[i];
  }
  w.bucket_bounds_ms = now.bucket_bounds_ms;
  w.bucket_counts = now.bucket_counts;
  w.requests = now.requests;
  w.errors = now.errors;
  if (restarted) {
    return w;
  }
  w.requests -= start.requests;
  w.errors -= start.errors;
  for (size_t i = 0; i < w.bucket_counts.size(); ++i) {
    w.bucket_counts[i] -= start.bucket_counts[i];
  }
  return w;
}

double error_rate(const Window& w) {
  if (w.requests == 0) {
    return 0;
  }
  return static_cast<double>(std::min(w.errors, w.requests)) / static_cast<double>(w.requests);
}

double p95_ms(const Window& w) {
  size_t n = std::min(w.bucket_bounds_ms.size(), w.bucket_counts.size());
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    total += w.bucket_counts[i];
  }
  if (total == 0) {
    return 0;
  }
  // Nearest rank, in integers: ceil(0.95 × total).
  uint64_t rank = (total * 95 + 99) / 100;
  uint64_t below = 0;
  double lower = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t count = w.bucket_counts[i];
    double upper = w.bucket_bounds_ms[i];
    if (count > 0 && below + count >= rank) {
      if (!std::isfinite(upper)) {
        return lower;
      }
      double into = static_cast<double>(rank - below) / static_cast<double>(count);
      return lower + (upper - lower) * into;
    }
    below += count;
    if (std::isfinite(upper)) {
      lower = upper;
    }
  }
  return lower;
}

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::inconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

std::string format_percent(double fraction) {
  double percent = fraction * 100;
  if (percent == 0 || percent >= 0.1) {
    return fmt::format("{:.1f}%", percent);
  }
  if (percent >= 0.01) {
    return fmt::format("{:.2f}%", percent);
  }
  return fmt::format("{:.3f}%", percent);
}

Judgement judge(const Window& canary, const Window& stable, const spec::Analysis& limits,
                std::string_view subject) {
  Judgement j;
  Measured& m = j.measured;
  m.requests = canary.requests;
  m.errors = std::min(canary.errors, canary.requests);
  m.error_rate = error_rate(canary);
  m.p95_ms = p95_ms(canary);
  m.stable_requests = stable.requests;
  m.stable_errors = std::min(stable.errors, stable.requests);
  m.stable_error_rate = error_rate(stable);
  const uint64_t min_requests = static_cast<uint64_t>(std::max(limits.min_requests, 0));
  const double max_p95 = static_cast<double>(limits.max_p95.count());

  if (m.requests < min_requests) {
    j.verdict = Verdict::inconclusive;
    j.reason = fmt::format("inconclusive: {} requests, need {}", m.requests, min_requests);
    return j;
  }
  if (m.error_rate > limits.max_error_rate) {
    j.verdict = Verdict::fail;
    j.reason = fmt::format("{} error rate {} ({} of {}) above max {}", subject,
                           format_percent(m.error_rate), m.errors, m.requests,
                           format_percent(limits.max_error_rate));
    return j;
  }
  if (m.errors >= k_min_compared_errors && m.stable_requests >= min_requests &&
      m.error_rate > 2 * m.stable_error_rate &&
      m.error_rate - m.stable_error_rate > limits.max_error_rate / 2) {
    j.verdict = Verdict::fail;
    j.reason = fmt::format(
        "{} error rate {} ({} of {}) above the stable set's {} ({} of {}) by more than {}", subject,
        format_percent(m.error_rate), m.errors, m.requests, format_percent(m.stable_error_rate),
        m.stable_errors, m.stable_requests, format_percent(limits.max_error_rate / 2));
    return j;
  }
  if (m.p95_ms > max_p95) {
    j.verdict = Verdict::fail;
    j.reason = fmt::format("{} p95 {} above max {} ({} requests)", subject, format_ms(m.p95_ms),
                           format_ms(max_p95), m.requests);
    return j;
  }
  j.verdict = Verdict::pass;
  j.reason =
      fmt::format("{} error rate {} ({} of {}), p95 {}; stable error rate {} ({} of {})", subject,
                  format_percent(m.error_rate), m.errors, m.requests, format_ms(m.p95_ms),
                  format_percent(m.stable_error_rate), m.stable_errors, m.stable_requests);
  return j;
}

Judgement analyse(const std::vector<target::ReleaseMetrics>& start,
                  const std::vector<target::ReleaseMetrics>& now, const std::string& canary_release,
                  const spec::Analysis& limits, std::string_view subject) {
  Window canary;
  Window stable;
  for (const auto& reading : now) {
    const auto* earlier = target::find_release(start, reading.release);
    const target::ReleaseMetrics zero{reading.release, 0, 0, {}, {}};
    Window w = window_between(earlier == nullptr ? zero : *earlier, reading);
    if (reading.release == canary_release) {
      canary = std::move(w);
    } else {
      stable.requests += w.requests;
      stable.errors += std::min(w.errors, w.requests);
    }
  }
  return judge(canary, stable, limits, subject);
}

}  // namespace ztp::verify
