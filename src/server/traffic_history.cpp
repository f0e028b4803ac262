#include "server/traffic_history.hpp"

#include <cmath>

#include "util/log.hpp"
#include "util/percentile.hpp"

namespace ztp::server {
namespace {

constexpr int k_deployment_lookback = 200;  // releases read for the markers

int64_t unix_ms(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.wall_now().time_since_epoch())
      .count();
}

// True when every counter of `now` is at least the one of `before`.
bool grew(const target::ReleaseMetrics& before, const target::ReleaseMetrics& now) {
  if (now.requests < before.requests || now.errors < before.errors ||
      now.bucket_counts.size() != before.bucket_counts.size()) {
    return false;
  }
  for (size_t i = 0; i < now.bucket_counts.size(); ++i) {
    if (now.bucket_counts[i] < before.bucket_counts[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

TrafficHistory::TrafficHistory(store::SqliteStore& store, std::vector<std::string> envs,
                               TrafficSource source, Clock& clock, TrafficHistoryOptions options)
    : m_store(store),
      m_envs(std::move(envs)),
      m_source(std::move(source)),
      m_clock(clock),
      m_options(options) {
  m_options.samples = std::max<size_t>(1, m_options.samples);
}

TrafficHistory::TrafficHistory(store::SqliteStore& store, std::vector<std::string> envs,
                               TrafficSource source)
    : TrafficHistory(store, std::move(envs), std::move(source), system_clock(), {}) {}

TrafficHistory::~TrafficHistory() { stop(); }

void TrafficHistory::start() {
  std::lock_guard lock(m_mu);
  if (m_thread.joinable() || !m_source) {
    return;
  }
  m_stopping = false;
  m_thread = std::thread([this] { loop(); });
}

void TrafficHistory::stop() {
  {
    std::lock_guard lock(m_mu);
    m_stopping = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void TrafficHistory::loop() {
  std::unique_lock lock(m_mu);
  while (!m_stopping) {
    lock.unlock();
    sample_once();
    lock.lock();
    m_cv.wait_for(lock, m_options.interval, [this] { return m_stopping; });
  }
}

void TrafficHistory::sample_once() {
  if (!m_source) {
    return;
  }
  int64_t now = unix_ms(m_clock);
  for (const auto& env : m_envs) {
    sample_env(env, now);
  }
}

void TrafficHistory::sample_env(const std::string& env, int64_t now_ms) {
  auto read = m_source(env);  // outside the lock: it may wait on the proxy
  if (!read.ok()) {
    log::debug("traffic not sampled", {{"env", env}, {"error", read.error().message}});
    return;
  }
  std::lock_guard lock(m_mu);
  auto& baselines = m_baselines[env];
  Sample sample{now_ms, {}};
  std::map<std::string, Baseline> next;
  for (auto& counters : *read) {
    auto before = baselines.find(counters.release);
    if (before != baselines.end() && before->second.at < now_ms &&
        grew(before->second.counters, counters)) {
      const auto& old = before->second.counters;
      double seconds = static_cast<double>(now_ms - before->second.at) / 1000.0;
      uint64_t requests = counters.requests - old.requests;
      uint64_t errors = counters.errors - old.errors;
      std::vector<uint64_t> latency(counters.bucket_counts.size());
      for (size_t i = 0; i < latency.size(); ++i) {
        latency[i] = counters.bucket_counts[i] - old.bucket_counts[i];
      }
      TrafficPoint p;
      p.at = now_ms;
      p.release = counters.release;
      p.requests_per_s = static_cast<double>(requests) / seconds;
      p.error_rate =
          requests == 0 ? 0 : static_cast<double>(errors) / static_cast<double>(requests);
      p.p95_ms = bucket_percentile(counters.bucket_bounds_ms, latency, 0.95);
      sample.points.push_back(std::move(p));
    }
    std::string release = counters.release;
    next[release] = Baseline{now_ms, std::move(counters)};
  }
  baselines = std::move(next);
  auto& ring = m_samples[env];
  ring.push_back(std::move(sample));
  while (ring.size() > m_options.samples) {
    ring.pop_front();
  }
}

nlohmann::json TrafficHistory::points(const std::string& env, int64_t since_ms) const {
  nlohmann::json out = nlohmann::json::array();
  std::lock_guard lock(m_mu);
  auto it = m_samples.find(env);
  if (it == m_samples.end()) {
    return out;
  }
  for (const auto& sample : it->second) {
    if (sample.at < since_ms) {
      continue;
    }
    for (const auto& p : sample.points) {
      out.push_back({{"at", p.at},
                     {"release", p.release},
                     {"requests_per_s", p.requests_per_s},
                     {"error_rate", p.error_rate},
                     {"p95_ms", p.p95_ms}});
    }
  }
  return out;
}

nlohmann::json TrafficHistory::series(const std::string& env, int64_t since_ms) const {
  auto deployments = deployment_markers(m_store, env, since_ms);
  if (!deployments.ok()) {
    log::warn("deployment markers not read",
              {{"env", env}, {"error", deployments.error().message}});
  }
  return {{"env", env},
          {"points", points(env, since_ms)},
          {"deployments", deployments.value_or(nlohmann::json::array())}};
}

Result<nlohmann::json> deployment_markers(store::SqliteStore& store, const std::string& env,
                                          int64_t since_ms) {
  std::vector<store::Release> releases;
  ZTP_ASSIGN_OR_RETURN(releases, store.list_releases(env, k_deployment_lookback));
  nlohmann::json out = nlohmann::json::array();
  for (auto it = releases.rbegin(); it != releases.rend(); ++it) {  // oldest first
    if (it->activated_at && *it->activated_at >= since_ms) {
      out.push_back(
          {{"at", *it->activated_at}, {"revision", it->revision}, {"short_sha", it->short_sha}});
    }
  }
  return out;
}

}  // namespace ztp::server
