#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ztp::proxy {

// Number of latency buckets: 47 upper bounds from 0.1 ms to 60 s (1, 1.5, 2, 3, 4, 5, 6, 8 per
// decade) plus one unbounded bucket.
inline constexpr size_t k_latency_buckets = 48;

// Upper bound in ms of bucket `i`; infinity for the last one.
double bucket_upper_ms(size_t i);
// The bucket a latency of `ms` falls in.
size_t bucket_for(double ms);

// Latency counts per bucket (a merged, plain copy; the request path writes per-thread slots).
struct Histogram {
  std::array<uint64_t, k_latency_buckets> counts{};

  void record(double ms) { ++counts[bucket_for(ms)]; }
  void merge(const Histogram& other);
  uint64_t total() const;
  // The latency in ms below which a fraction `q` (0-1) of the samples fall, interpolated
  // linearly inside its bucket; 0 when empty.
  double percentile(double q) const;
};

}  // namespace ztp::proxy
