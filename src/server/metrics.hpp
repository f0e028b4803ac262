#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/workspace.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"
#include "util/result.hpp"

// GET /metrics: the state of the store and the proxy's counters in the Prometheus text format
// 0.0.4. docs/metrics.md lists every metric.
namespace ztp::server {

// The proxy's cumulative per-release counters of one environment (Target::metrics); an error
// when they cannot be read (no proxy running).
using TrafficSource =
    std::function<Result<std::vector<target::ReleaseMetrics>>(const std::string& env)>;

// The counters of each environment's target (Target::metrics: for the local target, the proxy's
// admin API), resolved now for every environment of the spec. `ws` must outlive the source;
// the source may be called from any thread.
TrafficSource workspace_traffic(engine::Workspace& ws);

// The Content-Type of the text format.
inline constexpr const char* k_metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

// Renders every metric: runs by outcome, stage durations, rollouts and rollbacks, check
// results, the current release of each environment of `spec`, and, when `traffic` is set, the
// proxy's request counters and latency histograms. Errors come from reading the store.
//
// One renderer serves scrape after scrape: the counters that come from events (rollbacks,
// check results) are folded once per event, from where the last scrape stopped, and runs and
// stages are summed up by SQLite, so a scrape costs the same however long the history. Safe
// to call from several threads; `store` and `spec` must outlive it.
class MetricsRenderer {
 public:
  MetricsRenderer(store::SqliteStore& store, const spec::Spec& spec, TrafficSource traffic = {});
  ~MetricsRenderer();
  MetricsRenderer(const MetricsRenderer&) = delete;
  MetricsRenderer& operator=(const MetricsRenderer&) = delete;

  Result<std::string> render();

 private:
  struct Folded;

  store::SqliteStore& m_store;
  const spec::Spec& m_spec;
  TrafficSource m_traffic;
  std::mutex m_mu;
  std::unique_ptr<Folded> m_folded;
};

// One scrape with a fresh renderer (reads every event).
Result<std::string> render_metrics(store::SqliteStore& store, const spec::Spec& spec,
                                   const TrafficSource& traffic = {});

// Writes metric families in the text format: HELP and TYPE once per family, escaped labels.
class Exposition {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // Starts family `name` of `type` (counter, gauge, histogram, untyped).
  void family(const std::string& name, const std::string& type, const std::string& help);
  // One sample line `name{labels} value`.
  void sample(const std::string& name, const Labels& labels, double value);
  // The buckets (cumulative, `le` in seconds, +Inf last), _count and, when `sum` is set, _sum
  // of one histogram. `upper` are the bucket bounds in seconds (the last may be infinity),
  // `counts` the samples per bucket (not cumulative).
  void histogram(const std::string& name, const Labels& labels, const std::vector<double>& upper,
                 const std::vector<uint64_t>& counts, std::optional<double> sum);

  const std::string& text() const { return m_text; }

 private:
  std::string m_text;
};

// A sample value as the text format writes it: integers without a fraction, +Inf, NaN.
std::string format_value(double v);

}  // namespace ztp::server
