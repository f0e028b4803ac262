#pragma once

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/fake_clock.hpp"
#include "target/target.hpp"

namespace ztp::testing {

// An in-memory target: replicas become healthy `ready_after` after they start (on the fake
// clock), except those of releases listed in `never_healthy` or `crashing`. Every change is
// checked against the invariant a rollout must keep: traffic only goes to healthy replicas.
class FakeTarget final : public target::Target {
 public:
  explicit FakeTarget(FakeClock& clock) : m_clock(clock) {}

  std::chrono::milliseconds ready_after{500};
  std::set<std::string> never_healthy;
  std::set<std::string> crashing;
  // Replicas (by id) whose supervisor stopped: what a process that died while removing them
  // leaves behind.
  std::set<std::string> stopped;
  // Healthy replicas that had weight > 0, after each change (the serving capacity).
  std::vector<int> serving_history;
  int prepared = 0;

  Result<void> prepare(const target::ReleaseRef&) override {
    ++prepared;
    return {};
  }

  Result<std::vector<std::string>> add_replicas(const target::ReleaseRef& ref, int count) override {
    auto& set = set_for(ref);
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      Entry e;
      e.replica.id = ref.env + "-r" + ref.release + "-" + std::to_string(m_next_index++);
      e.replica.release = ref.release;
      e.replica.address = "127.0.0.1:" + std::to_string(20000 + m_next_index);
      e.started = m_clock.now();
      set.entries.push_back(e);
      ids.push_back(e.replica.id);
    }
    journal.push_back("add " + ref.release + " " + std::to_string(count));
    record(ref.env);
    return ids;
  }

  Result<target::Observed> observe(const std::string& env) override {
    target::Observed obs;
    obs.env = env;
    for (auto& [release, set] : m_envs[env]) {
      target::ReleaseSet rs;
      rs.release = release;
      rs.digest = set.digest;
      rs.weight = set.weight;
      for (auto& e : set.entries) {
        refresh(e);
        rs.replicas.push_back(e.replica);
      }
      obs.sets.push_back(rs);
    }
    return obs;
  }

  Result<void> set_weights(const std::string& env,
                           const std::map<std::string, int>& weights) override {
    for (const auto& [release, w] : weights) {
      auto it = m_envs[env].find(release);
      if (it != m_envs[env].end()) {
        it->second.weight = w;
      }
    }
    weight_changes.push_back(weights);
    std::string line = "weights";
    for (const auto& [release, w] : weights) {
      line += " " + release + "=" + std::to_string(w);
    }
    journal.push_back(line);
    record(env);
    return {};
  }

  Result<void> remove_replicas(const std::string& env,
                               const std::vector<std::string>& ids) override {
    std::set<std::string> gone(ids.begin(), ids.end());
    std::set<std::string> releases;
    for (auto& [release, set] : m_envs[env]) {
      for (const auto& e : set.entries) {
        if (gone.count(e.replica.id) > 0) {
          releases.insert(release);
        }
      }
    }
    for (const auto& release : releases) {
      journal.push_back("remove " + release);
    }
    for (auto it = m_envs[env].begin(); it != m_envs[env].end();) {
      auto& entries = it->second.entries;
      std::erase_if(entries, [&](const Entry& e) { return gone.count(e.replica.id) > 0; });
      it = entries.empty() ? m_envs[env].erase(it) : std::next(it);
    }
    record(env);
    return {};
  }

  Result<void> down(const std::string& env) override {
    m_envs.erase(env);
    return {};
  }

  Result<std::vector<target::ReleaseMetrics>> metrics(const std::string& env) override {
    std::vector<target::ReleaseMetrics> out;
    for (auto& [release, set] : m_envs[env]) {
      auto it = traffic.find(release);
      out.push_back(it == traffic.end() ? target::ReleaseMetrics{release, 0, 0, {}, {}}
                                        : it->second);
    }
    return out;
  }

  Result<void> set_preview(const std::string& env, const std::string& release,
                           const std::string& listen) override {
    previews[env] = {release, listen};
    journal.push_back("preview " + release + " " + listen);
    return {};
  }

  Result<void> clear_preview(const std::string& env) override {
    previews.erase(env);
    journal.push_back("clear_preview");
    return {};
  }

  // What metrics() reports per release (tests fill it in).
  std::map<std::string, target::ReleaseMetrics> traffic;
  // env -> (release, listen) of the open preview.
  std::map<std::string, std::pair<std::string, std::string>> previews;

  // The weights passed to each set_weights() call, in order.
  std::vector<std::map<std::string, int>> weight_changes;
  // One line per change, in order: "add 7 2", "weights 6=90 7=10", "remove 7" (one per release
  // whose replicas were removed), "preview 7 127.0.0.1:9001", "clear_preview".
  std::vector<std::string> journal;

  // Upper bounds (ms) of the latency histogram serve() fills; the last is +inf.
  static const std::vector<double>& latency_bounds() {
    static const std::vector<double> bounds{
        1,   2,   5,    10,   25,   50,    100,
        250, 500, 1000, 2500, 5000, 10000, std::numeric_limits<double>::infinity()};
    return bounds;
  }

  // Adds `requests` answers of `release`, `errors` of them failed, each taking `latency_ms`, to
  // what metrics() reports (as a router's counters would grow).
  void serve(const std::string& release, uint64_t requests, uint64_t errors, double latency_ms) {
    auto& m = traffic[release];
    m.release = release;
    if (m.bucket_bounds_ms.empty()) {
      m.bucket_bounds_ms = latency_bounds();
      m.bucket_counts.assign(m.bucket_bounds_ms.size(), 0);
    }
    m.requests += requests;
    m.errors += errors;
    size_t i = 0;
    while (i + 1 < m.bucket_bounds_ms.size() && latency_ms > m.bucket_bounds_ms[i]) {
      ++i;
    }
    m.bucket_counts[i] += requests;
  }

  // Weight of each release set now.
  std::map<std::string, int> weights(const std::string& env) {
    std::map<std::string, int> out;
    for (auto& [release, set] : m_envs[env]) {
      out[release] = set.weight;
    }
    return out;
  }

 private:
  struct Entry {
    target::Replica replica;
    std::chrono::steady_clock::time_point started;
  };
  struct Set {
    std::string digest;
    int weight = 0;
    std::vector<Entry> entries;
  };

  Set& set_for(const target::ReleaseRef& ref) {
    auto& set = m_envs[ref.env][ref.release];
    set.digest = ref.digest;
    return set;
  }

  void refresh(Entry& e) {
    if (stopped.count(e.replica.id) > 0) {
      e.replica.state = target::Replica::State::stopped;
    } else if (crashing.count(e.replica.release) > 0) {
      e.replica.state = target::Replica::State::crashed;
      e.replica.detail = "exited with code 1";
    } else if (never_healthy.count(e.replica.release) == 0 &&
               m_clock.now() - e.started >= ready_after) {
      e.replica.state = target::Replica::State::healthy;
    }
  }

  void record(const std::string& env) {
    int serving = 0;
    for (auto& [release, set] : m_envs[env]) {
      for (auto& e : set.entries) {
        refresh(e);
        if (set.weight > 0 && e.replica.state == target::Replica::State::healthy) {
          ++serving;
        }
      }
    }
    serving_history.push_back(serving);
  }

  FakeClock& m_clock;
  int m_next_index = 0;
  std::map<std::string, std::map<std::string, Set>> m_envs;
};

}  // namespace ztp::testing
