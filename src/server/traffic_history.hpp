#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server/metrics.hpp"
#include "store/sqlite_store.hpp"
#include "util/clock.hpp"

namespace ztp::server {

struct TrafficHistoryOptions {
  std::chrono::milliseconds interval{5000};  // between two samples of the proxy's counters
  size_t samples = 720;                      // kept per environment (an hour at 5 s)
};

// One point of a plot: what one release served between two samples.
struct TrafficPoint {
  int64_t at = 0;  // unix ms of the later sample
  std::string release;
  double requests_per_s = 0;
  double error_rate = 0;  // errors / requests in the interval (0 when there were none)
  double p95_ms = 0;      // from the latency histogram of the interval (0 when no requests)
};

// The releases of `env` activated at or after `since_ms`, oldest first: [{at, revision,
// short_sha}], the deployment markers of a traffic plot. Errors come from reading the store.
Result<nlohmann::json> deployment_markers(store::SqliteStore& store, const std::string& env,
                                          int64_t since_ms);

// Samples the proxy's counters of each environment every few seconds and keeps, in a bounded
// ring per environment, the request rate, error rate and p95 of each release between two
// samples: the data behind the dashboard's plots.
class TrafficHistory {
 public:
  // `store` (for the deployment markers) and `clock` (wall time of samples) must outlive it.
  TrafficHistory(store::SqliteStore& store, std::vector<std::string> envs, TrafficSource source,
                 Clock& clock, TrafficHistoryOptions options);
  TrafficHistory(store::SqliteStore& store, std::vector<std::string> envs, TrafficSource source);
  ~TrafficHistory();
  TrafficHistory(const TrafficHistory&) = delete;
  TrafficHistory& operator=(const TrafficHistory&) = delete;

  // Samples on a background thread until stop(). Idempotent.
  void start();
  void stop();
  // Takes one sample of every environment now (what the thread does each interval). An
  // environment whose counters cannot be read is skipped; a counter that went backwards (the
  // proxy restarted) starts a new baseline.
  void sample_once();

  // The points of `env` at or after `since_ms`, oldest first:
  // [{at, release, requests_per_s, error_rate, p95_ms}].
  nlohmann::json points(const std::string& env, int64_t since_ms) const;
  // GET /api/v1/environments/{env}/traffic: {env, points, deployments: [{at, revision,
  // short_sha}]}, the deployments being the releases of `env` activated at or after since_ms.
  nlohmann::json series(const std::string& env, int64_t since_ms) const;

 private:
  struct Sample {
    int64_t at = 0;
    std::vector<TrafficPoint> points;
  };
  struct Baseline {
    int64_t at = 0;
    target::ReleaseMetrics counters;
  };

  void sample_env(const std::string& env, int64_t now_ms);
  void loop();

  store::SqliteStore& m_store;
  std::vector<std::string> m_envs;
  TrafficSource m_source;
  Clock& m_clock;
  TrafficHistoryOptions m_options;

  mutable std::mutex m_mu;
  std::map<std::string, std::deque<Sample>> m_samples;                 // env -> ring
  std::map<std::string, std::map<std::string, Baseline>> m_baselines;  // env -> release ->
  bool m_stopping = false;
  std::condition_variable m_cv;
  std::thread m_thread;
};

}  // namespace ztp::server
