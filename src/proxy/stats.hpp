#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/histogram.hpp"
#include "proxy/release_counters.hpp"

namespace ztp::proxy {

// Counters and latency histogram of one release, one slot per worker thread: a worker writes
// only its own slot (no shared counter on the request path); snapshot() sums the slots.
class ReleaseStats {
 public:
  ReleaseStats(std::string release, size_t workers);

  const std::string& release() const { return m_release; }
  // Records one finished request answered with `status` after `ms` (worker thread `w` only).
  void record(size_t w, int status, double ms);
  void connect_error(size_t w);
  void timeout(size_t w);
  // Sums every slot (any thread; values are read relaxed), with the bucket bounds and the
  // percentiles of the latency histogram.
  ReleaseCounters snapshot() const;

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> classes[6]{};  // index = status / 100
    std::atomic<uint64_t> connect_errors{0};
    std::atomic<uint64_t> timeouts{0};
    std::atomic<uint64_t> latency[k_latency_buckets]{};
  };

  std::string m_release;
  size_t m_workers;
  std::unique_ptr<Slot[]> m_slots;
};

// Adds `n` to a counter only one thread writes: a plain load and store, no locked instruction.
inline void bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace ztp::proxy
