#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ztp::proxy {

// Counters of one release (or of the requests no release could take), as
// ReleaseStats::snapshot() sums them and `GET /v1/envs/{env}/stats` (AdminClient::stats)
// reports them. The latency histogram comes with its bucket bounds, so a reader needs nothing
// of how the proxy lays its buckets out.
struct ReleaseCounters {
  std::string release;
  uint64_t requests = 0;
  uint64_t status_2xx = 0;
  uint64_t status_3xx = 0;
  uint64_t status_4xx = 0;
  uint64_t status_5xx = 0;
  uint64_t connect_errors = 0;
  uint64_t timeouts = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  std::vector<double> bucket_bounds_ms;  // latency: upper bounds, ascending; the last is +inf
  std::vector<uint64_t> bucket_counts;   // same length
};

}  // namespace ztp::proxy
