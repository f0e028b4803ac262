#include "proxy/histogram.hpp"
#include "util/percentile.hpp"

#include <algorithm>
#include <limits>

namespace ztp::proxy {
namespace {

constexpr double k_mantissas[] = {1, 1.5, 2, 3, 4, 5, 6, 8};

constexpr std::array<double, k_latency_buckets - 1> make_bounds() {
  std::array<double, k_latency_buckets - 1> out{};
  size_t n = 0;
  for (double m : k_mantissas) {
    out[n++] = m / 10;  // divided, not multiplied by 0.1, so 0.15 prints as 0.15
  }
  for (double decade = 1; decade <= 1000; decade *= 10) {
    for (double m : k_mantissas) {
      out[n++] = m * decade;
    }
  }
  return out;
}

// 0.1 .. 8000 ms over five decades, then 10 s .. 60 s.
const std::array<double, k_latency_buckets - 1> k_bounds = [] {
  auto b = make_bounds();
  constexpr double k_tail[] = {10000, 15000, 20000, 30000, 40000, 50000, 60000};
  for (size_t i = 0; i < 7; ++i) {
    b[40 + i] = k_tail[i];
  }
  return b;
}();

}  // namespace

double bucket_upper_ms(size_t i) {
  return i < k_bounds.size() ? k_bounds[i] : std::numeric_limits<double>::infinity();
}

size_t bucket_for(double ms) {
  auto it = std::lower_bound(k_bounds.begin(), k_bounds.end(), ms);
  return static_cast<size_t>(it - k_bounds.begin());
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] += other.counts[i];
  }
}

uint64_t Histogram::total() const {
  uint64_t t = 0;
  for (auto c : counts) {
    t += c;
  }
  return t;
}

double Histogram::percentile(double q) const { return bucket_percentile(k_bounds, counts, q); }

}  // namespace ztp::proxy
