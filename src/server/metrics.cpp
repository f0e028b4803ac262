#include "server/metrics.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "notify/notifier.hpp"

namespace ztp::server {
namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();

// Stage duration buckets in seconds: a build takes seconds to minutes, a gate may wait hours.
const std::vector<double>& stage_buckets() {
  static const std::vector<double> b{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, k_inf};
  return b;
}

struct StageHistogram {
  std::vector<uint64_t> counts = std::vector<uint64_t>(stage_buckets().size(), 0);
  double sum = 0;
};

// What the events say: check results and rollbacks with their reasons.
struct EventTotals {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, uint64_t> checks;
  std::map<std::pair<std::string, std::string>, uint64_t> rollbacks;  // (env, reason)
  std::map<std::string, std::string> last_failure;                    // env -> rollout.failed code

  void fold(const store::Event& e) {
    const std::string env = e.env.value_or("");
    if (e.kind == "check.passed" || e.kind == "check.failed") {
      auto data = nlohmann::json::parse(e.data, nullptr, false);
      std::string suite = data.is_object() ? data.value("suite", "") : "";
      std::string name = data.is_object() ? data.value("name", "") : "";
      ++checks[{env, suite, name, e.kind == "check.passed" ? "passed" : "failed"}];
    } else if (e.kind == "rollout.failed") {
      auto data = nlohmann::json::parse(e.data, nullptr, false);
      last_failure[env] = data.is_object() ? data.value("code", "unknown") : "unknown";
    } else if (e.kind == "rollout.rolled_back") {
      auto it = last_failure.find(env);
      ++rollbacks[{env, it == last_failure.end() ? "unknown" : it->second}];
      if (it != last_failure.end()) {
        last_failure.erase(it);
      }
    } else if (e.kind == "rollback.succeeded") {
      ++rollbacks[{env, "manual"}];
    } else if (e.kind == "reconcile.restored") {
      ++rollbacks[{env, "interrupted"}];
    }
  }
};

Result<void> run_metrics(store::SqliteStore& store, Exposition& out) {
  std::map<store::RunStatus, int64_t> by_status;
  ZTP_ASSIGN_OR_RETURN(by_status, store.count_runs_by_status());
  // The finite bounds in ms; the last bucket (+Inf) takes the rest.
  std::vector<int64_t> bounds_ms;
  for (double b : stage_buckets()) {
    if (!std::isinf(b)) {
      bounds_ms.push_back(static_cast<int64_t>(b * 1000));
    }
  }
  std::vector<store::StageDurations> durations;
  ZTP_ASSIGN_OR_RETURN(durations, store.stage_durations(bounds_ms));
  std::map<std::tuple<std::string, std::string, std::string>, StageHistogram> stages;
  for (const auto& d : durations) {
    auto& h = stages[{d.name, d.env, std::string(store::to_string(d.status))}];
    int64_t below = 0;
    for (size_t i = 0; i < bounds_ms.size(); ++i) {
      h.counts[i] = static_cast<uint64_t>(d.at_most[i] - below);
      below = d.at_most[i];
    }
    h.counts[bounds_ms.size()] = static_cast<uint64_t>(d.count - below);
    h.sum = static_cast<double>(d.total_ms) / 1000.0;
  }
  using store::RunStatus;
  out.family("ztp_runs_total", "counter", "Runs that ended, by outcome.");
  for (auto status :
       {RunStatus::succeeded, RunStatus::failed, RunStatus::rolled_back, RunStatus::cancelled}) {
    out.sample("ztp_runs_total", {{"outcome", std::string(store::to_string(status))}},
               static_cast<double>(by_status[status]));
  }
  out.family("ztp_runs_in_progress", "gauge", "Runs not ended yet, by status.");
  for (auto status : {RunStatus::queued, RunStatus::running, RunStatus::awaiting_approval}) {
    out.sample("ztp_runs_in_progress", {{"status", std::string(store::to_string(status))}},
               static_cast<double>(by_status[status]));
  }
  out.family("ztp_stage_duration_seconds", "histogram",
             "How long finished pipeline stages took, by stage, environment and status.");
  for (const auto& [key, h] : stages) {
    const auto& [name, env, status] = key;
    out.histogram("ztp_stage_duration_seconds", {{"stage", name}, {"env", env}, {"status", status}},
                  stage_buckets(), h.counts, h.sum);
  }
  return {};
}

std::string rollout_outcome(store::ReleaseStatus s) {
  switch (s) {
    case store::ReleaseStatus::active:
    case store::ReleaseStatus::superseded:
      return "succeeded";
    case store::ReleaseStatus::failed:
      return "failed";
    case store::ReleaseStatus::rolled_back:
      return "rolled_back";
    case store::ReleaseStatus::pending:
    case store::ReleaseStatus::deploying:
      return "";
  }
  return "";
}

Result<void> release_metrics(store::SqliteStore& store, const spec::Spec& spec,
                             const EventTotals& events, Exposition& out) {
  std::map<std::pair<std::string, std::string>, uint64_t> rollouts;
  std::map<std::string, uint64_t> in_progress;
  std::vector<store::Release> current;
  std::vector<store::Release> releases;
  for (const auto& env : spec.environments) {
    ZTP_ASSIGN_OR_RETURN(releases, store.list_releases(env.name, 0));
    for (const auto& outcome : {"succeeded", "failed", "rolled_back"}) {
      rollouts[{env.name, outcome}] += 0;
    }
    in_progress[env.name] += 0;
    for (const auto& r : releases) {
      auto outcome = rollout_outcome(r.status);
      if (outcome.empty()) {
        ++in_progress[env.name];
      } else {
        ++rollouts[{env.name, outcome}];
      }
    }
    std::optional<store::Release> active;
    ZTP_ASSIGN_OR_RETURN(active, store.current_release(env.name));
    if (active) {
      current.push_back(*active);
    }
  }
  out.family("ztp_rollouts_total", "counter",
             "Releases rolled out, by environment and how the rollout ended.");
  for (const auto& [key, n] : rollouts) {
    out.sample("ztp_rollouts_total", {{"env", key.first}, {"outcome", key.second}},
               static_cast<double>(n));
  }
  out.family("ztp_rollouts_in_progress", "gauge", "Releases being rolled out now.");
  for (const auto& [env, n] : in_progress) {
    out.sample("ztp_rollouts_in_progress", {{"env", env}}, static_cast<double>(n));
  }
  out.family("ztp_rollbacks_total", "counter",
             "Rollbacks by environment and reason: the failure class of the rollout "
             "(unhealthy, timeout, ...), manual (ztp rollback) or interrupted (reconcile).");
  for (const auto& [key, n] : events.rollbacks) {
    out.sample("ztp_rollbacks_total", {{"env", key.first}, {"reason", key.second}},
               static_cast<double>(n));
  }
  out.family("ztp_check_results_total", "counter",
             "Verification check results, by environment, suite, check and result.");
  for (const auto& [key, n] : events.checks) {
    const auto& [env, suite, check, result] = key;
    out.sample("ztp_check_results_total",
               {{"env", env}, {"suite", suite}, {"check", check}, {"result", result}},
               static_cast<double>(n));
  }
  out.family("ztp_release_info", "gauge",
             "The active release of each environment (value 1), with its image and commit.");
  for (const auto& r : current) {
    out.sample("ztp_release_info",
               {{"app", spec.app},
                {"env", r.env},
                {"revision", std::to_string(r.revision)},
                {"digest", r.digest},
                {"short_sha", r.short_sha},
                {"strategy", r.strategy}},
               1);
  }
  out.family("ztp_release_activated_timestamp_seconds", "gauge",
             "When the active release of each environment became active (unix seconds).");
  for (const auto& r : current) {
    if (r.activated_at) {
      out.sample("ztp_release_activated_timestamp_seconds", {{"env", r.env}},
                 static_cast<double>(*r.activated_at) / 1000.0);
    }
  }
  return {};
}

void proxy_metrics(const spec::Spec& spec, const TrafficSource& traffic, Exposition& out) {
  std::vector<std::pair<std::string, std::vector<target::ReleaseMetrics>>> read;
  std::vector<std::pair<std::string, bool>> up;
  for (const auto& env : spec.environments) {
    auto m = traffic(env.name);
    up.emplace_back(env.name, m.ok());
    if (m.ok()) {
      read.emplace_back(env.name, std::move(*m));
    }
  }
  out.family("ztp_proxy_up", "gauge",
             "1 when the proxy's counters of the environment could be read, else 0.");
  for (const auto& [env, ok] : up) {
    out.sample("ztp_proxy_up", {{"env", env}}, ok ? 1 : 0);
  }
  auto per_release = [&](const std::string& name, const std::string& help,
                         uint64_t target::ReleaseMetrics::*field) {
    out.family(name, "counter", help);
    for (const auto& [env, releases] : read) {
      for (const auto& r : releases) {
        out.sample(name, {{"env", env}, {"release", r.release}}, static_cast<double>(r.*field));
      }
    }
  };
  per_release("ztp_proxy_requests_total",
              "Requests the proxy answered, by environment and release.",
              &target::ReleaseMetrics::requests);
  per_release("ztp_proxy_errors_total",
              "Requests that failed (5xx answers, connect errors, upstream timeouts), by "
              "environment and release.",
              &target::ReleaseMetrics::errors);
  out.family("ztp_proxy_request_duration_seconds", "histogram",
             "Request latency through the proxy, by environment and release (buckets and "
             "count; the proxy keeps no latency sum).");
  for (const auto& [env, releases] : read) {
    for (const auto& r : releases) {
      std::vector<double> upper;
      upper.reserve(r.bucket_bounds_ms.size());
      for (double ms : r.bucket_bounds_ms) {
        upper.push_back(std::isinf(ms) ? k_inf : ms / 1000.0);
      }
      out.histogram("ztp_proxy_request_duration_seconds", {{"env", env}, {"release", r.release}},
                    upper, r.bucket_counts, std::nullopt);
    }
  }
}

// `v` with \\ and \n escaped, and \" too in a label value (`quote`; HELP text keeps quotes).
std::string escape(const std::string& v, bool quote) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const Exposition::Labels& labels) {
  if (labels.empty()) {
    return "";
  }
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += fmt::format("{}{}=\"{}\"", i == 0 ? "" : ",", labels[i].first,
                       escape(labels[i].second, true));
  }
  return out + "}";
}

}  // namespace

std::string format_value(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(v));
  }
  return fmt::format("{}", v);
}

void Exposition::family(const std::string& name, const std::string& type, const std::string& help) {
  m_text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape(help, false), name, type);
}

void Exposition::sample(const std::string& name, const Labels& labels, double value) {
  m_text += fmt::format("{}{} {}\n", name, label_text(labels), format_value(value));
}

void Exposition::histogram(const std::string& name, const Labels& labels,
                           const std::vector<double>& upper, const std::vector<uint64_t>& counts,
                           std::optional<double> sum) {
  uint64_t cumulative = 0;
  bool has_inf = false;
  for (size_t i = 0; i < upper.size() && i < counts.size(); ++i) {
    cumulative += counts[i];
    has_inf = std::isinf(upper[i]);
    Labels with_le = labels;
    with_le.emplace_back("le", format_value(upper[i]));
    sample(name + "_bucket", with_le, static_cast<double>(cumulative));
  }
  if (!has_inf) {
    Labels with_le = labels;
    with_le.emplace_back("le", "+Inf");
    sample(name + "_bucket", with_le, static_cast<double>(cumulative));
  }
  if (sum) {
    sample(name + "_sum", labels, *sum);
  }
  sample(name + "_count", labels, static_cast<double>(cumulative));
}

TrafficSource workspace_traffic(engine::Workspace& ws) {
  // Made here, once: the source is then called from several threads and only reads the map.
  auto targets = std::make_shared<std::map<std::string, target::Target*>>();
  for (const auto& env : ws.spec.environments) {
    auto target = ws.target_for(env.name);
    if (target.ok()) {
      (*targets)[env.name] = *target;
    }
  }
  return [targets](const std::string& env) -> Result<std::vector<target::ReleaseMetrics>> {
    auto it = targets->find(env);
    if (it == targets->end()) {
      return make_error(Errc::not_found, "no target serves environment " + env);
    }
    return it->second->metrics(env);
  };
}

struct MetricsRenderer::Folded {
  EventTotals events;
  int64_t last_event_id = 0;
};

MetricsRenderer::MetricsRenderer(store::SqliteStore& store, const spec::Spec& spec,
                                 TrafficSource traffic)
    : m_store(store),
      m_spec(spec),
      m_traffic(std::move(traffic)),
      m_folded(std::make_unique<Folded>()) {}

MetricsRenderer::~MetricsRenderer() = default;

Result<std::string> MetricsRenderer::render() {
  std::lock_guard lock(m_mu);
  // Only the events since the last scrape are read: the totals carry over.
  ZTP_ASSIGN_OR_RETURN(
      m_folded->last_event_id,
      notify::for_each_event(m_store, m_folded->last_event_id,
                             [this](const store::Event& e) { m_folded->events.fold(e); }));
  Exposition out;
  ZTP_TRY(run_metrics(m_store, out));
  ZTP_TRY(release_metrics(m_store, m_spec, m_folded->events, out));
  if (m_traffic) {
    proxy_metrics(m_spec, m_traffic, out);
  }
  return out.text();
}

Result<std::string> render_metrics(store::SqliteStore& store, const spec::Spec& spec,
                                   const TrafficSource& traffic) {
  return MetricsRenderer(store, spec, traffic).render();
}

}  // namespace ztp::server
