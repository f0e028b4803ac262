#pragma once

// The parts of a run that pipeline.cpp and pipeline_gates.cpp share: how a run reports, the
// run's stages as this process keeps them, and the gate of an environment. Not for other
// modules.

#include <fmt/format.h>

#include <string>
#include <vector>

#include "artifact/digest.hpp"
#include "engine/pipeline.hpp"
#include "util/log.hpp"

namespace ztp::engine::run_detail {

using artifact::short_digest;

using store::RunStatus;
using store::StageStatus;

inline std::string url_of(const spec::Environment& env) { return "http://" + env.listen + "/"; }

// Records an event of run `run_id` in the store, then shows it.
class RunReporter {
 public:
  RunReporter(Pipeline& p, int64_t run_id) : m_p(p), m_run_id(run_id) {}

  void operator()(const std::optional<std::string>& env, ProgressEvent e) const {
    if (!e.data.is_object()) {
      e.data = nlohmann::json::object();
    }
    if (env && !e.data.contains("env")) {
      e.data["env"] = *env;
    }
    e.data["run"] = m_run_id;
    auto stored = m_p.store.append_event({m_run_id, env, e.kind, e.message, e.data.dump()});
    if (!stored.ok()) {
      log::warn("event not recorded", {{"error", stored.error().message}});
    }
    if (m_p.progress) {
      m_p.progress(e);
    }
  }

  // A Progress for deploy(), which records its events itself: only tags and shows them.
  Progress shown_for(const std::string& env) const {
    return [this, env](const ProgressEvent& event) {
      ProgressEvent e = event;
      if (!e.data.is_object()) {
        e.data = nlohmann::json::object();
      }
      e.data["env"] = env;
      e.data["run"] = m_run_id;
      if (m_p.progress) {
        m_p.progress(e);
      }
    };
  }

 private:
  Pipeline& m_p;
  int64_t m_run_id;
};

// The stages of a run, read once and kept in step with what this process records.
class Stages {
 public:
  Stages(store::SqliteStore& store, const RunReporter& report, std::vector<store::Stage> stages)
      : m_store(store), m_report(report), m_stages(std::move(stages)) {}

  // The latest stage `name` (of `env`), if any.
  const store::Stage* find(const std::string& name, const std::optional<std::string>& env) const {
    for (auto it = m_stages.rbegin(); it != m_stages.rend(); ++it) {
      if (it->name == name && it->env == env) {
        return &*it;
      }
    }
    return nullptr;
  }

  bool succeeded(const std::string& name, const std::optional<std::string>& env) const {
    const auto* s = find(name, env);
    return s != nullptr &&
           (s->status == StageStatus::succeeded || s->status == StageStatus::skipped);
  }

  Result<int64_t> start(int64_t run_id, const std::string& name,
                        const std::optional<std::string>& env, const std::string& message) {
    ZTP_ASSIGN_OR_RETURN(auto s, m_store.start_stage(run_id, name, env));
    m_stages.push_back(s);
    m_report(env, {"stage.started", message, {{"stage", name}}});
    return s.id;
  }

  // Finishes stage `stage_id` failed with `e`'s message (a failure to record that is ignored)
  // and returns `e`.
  Error fail(int64_t stage_id, const Error& e) {
    [[maybe_unused]] auto f = finish(stage_id, StageStatus::failed, e.message);
    return e;
  }

  Result<void> finish(int64_t stage_id, StageStatus status, const std::string& detail,
                      nlohmann::json data = nlohmann::json::object()) {
    ZTP_ASSIGN_OR_RETURN(auto s, m_store.finish_stage(stage_id, status, detail));
    for (auto& st : m_stages) {
      if (st.id == stage_id) {
        st = s;
      }
    }
    data["stage"] = s.name;
    data["status"] = store::to_string(status);
    m_report(s.env, {"stage." + std::string(store::to_string(status)), detail, data});
    return {};
  }

 private:
  store::SqliteStore& m_store;
  const RunReporter& m_report;
  std::vector<store::Stage> m_stages;
};

// The environments a run goes through, in order, up to its `until_env`.
inline std::vector<const spec::Environment*> run_environments(const spec::Spec& spec,
                                                              const std::string& until) {
  std::vector<const spec::Environment*> out;
  for (const auto& env : spec.environments) {
    out.push_back(&env);
    if (env.name == until) {
      break;
    }
  }
  return out;
}

// The answer of an environment's gate, waiting for it when the pipeline may.
enum class GateAnswer { approved, rejected, waiting };

// `env`'s gate: it refuses a run whose image is marked bad in the environment, waits while a
// freeze or a deploy window holds the environment, then for an approval when the gate asks for
// one, then (time having passed) for holds again. The gate stage is recorded when the run
// waited, was asked to, or was refused.
Result<GateAnswer> gate_stage(Pipeline& p, store::Run& run, const spec::Environment& env,
                              Stages& stages, const RunReporter& report, std::string& detail);

}  // namespace ztp::engine::run_detail
