#include "proxy/stats.hpp"

namespace ztp::proxy {

ReleaseStats::ReleaseStats(std::string release, size_t workers)
    : m_release(std::move(release)),
      m_workers(workers == 0 ? 1 : workers),
      m_slots(new Slot[m_workers]) {}

void ReleaseStats::record(size_t w, int status, double ms) {
  Slot& s = m_slots[w % m_workers];
  bump(s.requests);
  int cls = status / 100;
  bump(s.classes[cls >= 1 && cls <= 5 ? cls : 0]);
  bump(s.latency[bucket_for(ms)]);
}

void ReleaseStats::connect_error(size_t w) { bump(m_slots[w % m_workers].connect_errors); }

void ReleaseStats::timeout(size_t w) { bump(m_slots[w % m_workers].timeouts); }

ReleaseCounters ReleaseStats::snapshot() const {
  ReleaseCounters out;
  out.release = m_release;
  Histogram latency;
  constexpr auto r = std::memory_order_relaxed;
  for (size_t i = 0; i < m_workers; ++i) {
    const Slot& s = m_slots[i];
    out.requests += s.requests.load(r);
    out.status_2xx += s.classes[2].load(r);
    out.status_3xx += s.classes[3].load(r);
    out.status_4xx += s.classes[4].load(r);
    out.status_5xx += s.classes[5].load(r);
    out.connect_errors += s.connect_errors.load(r);
    out.timeouts += s.timeouts.load(r);
    for (size_t b = 0; b < k_latency_buckets; ++b) {
      latency.counts[b] += s.latency[b].load(r);
    }
  }
  out.p50_ms = latency.percentile(0.50);
  out.p95_ms = latency.percentile(0.95);
  out.p99_ms = latency.percentile(0.99);
  for (size_t b = 0; b < k_latency_buckets; ++b) {
    out.bucket_bounds_ms.push_back(bucket_upper_ms(b));
  }
  out.bucket_counts.assign(latency.counts.begin(), latency.counts.end());
  return out;
}

}  // namespace ztp::proxy
