// The environment routes of the API: views, traffic, drift, rollback and verify.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/incident_report.hpp"
#include "engine/pipeline.hpp"
#include "engine/rollback.hpp"
#include "server/api.hpp"
#include "server/traffic_history.hpp"
#include "util/log.hpp"
#include "verify/suites.hpp"
#include "verify/verifier.hpp"

namespace ztp::server {

Result<const spec::Environment*> Api::environment(const std::string& name) {
  if (const auto* env = ws().spec.find_environment(name); env != nullptr) {
    return env;
  }
  std::vector<std::string> names;
  for (const auto& e : ws().spec.environments) {
    names.push_back(e.name);
  }
  return make_error(Errc::not_found, fmt::format("no environment {}; environments: {}", name,
                                                 fmt::join(names, ", ")));
}

Result<Response> Api::list_environments(const Request&, const Caller&, const Parts&) {
  nlohmann::json out = nlohmann::json::array();
  EnvView view;
  for (const auto& env : ws().spec.environments) {
    ZTP_ASSIGN_OR_RETURN(view, view_environment(store(), env, target_for()));
    out.push_back(to_json(view));
  }
  return json_response(200, out);
}

Result<Response> Api::get_environment(const Request&, const Caller&, const Parts& parts) {
  const spec::Environment* env = nullptr;
  ZTP_ASSIGN_OR_RETURN(env, environment(parts[1]));
  EnvView view;
  ZTP_ASSIGN_OR_RETURN(view, view_environment(store(), *env, target_for()));
  std::vector<store::Release> releases;
  ZTP_ASSIGN_OR_RETURN(releases, store().list_releases(env->name, 20));
  nlohmann::json j = to_json(view);
  j["releases"] = nlohmann::json::array();
  for (const auto& r : releases) {
    j["releases"].push_back(engine::record_json(r));
  }
  return json_response(200, j);
}

Result<Response> Api::traffic(const Request& req, const Caller&, const Parts& parts) {
  const spec::Environment* env = nullptr;
  ZTP_ASSIGN_OR_RETURN(env, environment(parts[1]));
  int64_t since = 0;
  if (auto it = req.query.find("since"); it != req.query.end()) {
    try {
      size_t used = 0;
      since = std::stoll(it->second, &used);
      if (used != it->second.size() || since < 0) {
        throw std::invalid_argument(it->second);
      }
    } catch (const std::exception&) {
      return error_response(400,
                            fmt::format("since={} is not a time in unix milliseconds", it->second));
    }
  }
  if (!m_options.traffic_points) {
    return error_response(503, "this server keeps no traffic history");
  }
  nlohmann::json deployments;
  ZTP_ASSIGN_OR_RETURN(deployments, deployment_markers(store(), env->name, since));
  return json_response(200, {{"env", env->name},
                             {"points", m_options.traffic_points(env->name, since)},
                             {"deployments", deployments}});
}

Result<Response> Api::drift(const Request&, const Caller&, const Parts& parts) {
  const spec::Environment* env = nullptr;
  ZTP_ASSIGN_OR_RETURN(env, environment(parts[1]));
  if (!m_options.detect_drift) {
    return error_response(503, "this server cannot detect drift; `ztp drift` does");
  }
  nlohmann::json report;
  ZTP_ASSIGN_OR_RETURN(report, m_options.detect_drift(*env));
  return json_response(200, report);
}

Result<Response> Api::rollback(const Request& req, const Caller& caller, const Parts& parts) {
  const spec::Environment* env = nullptr;
  ZTP_ASSIGN_OR_RETURN(env, environment(parts[1]));
  nlohmann::json body;
  ZTP_ASSIGN_OR_RETURN(body, json_body(req));
  engine::RollbackRequest rollback;
  rollback.env = env->name;
  rollback.actor = caller.name;
  rollback.wait_for_lock = false;
  if (auto it = body.find("revision"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
      return error_response(400, "field revision must be a positive integer");
    }
    rollback.to_revision = it->get<int64_t>();
  }
  if (auto it = body.find("force"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return error_response(400, "field force must be true or false");
    }
    rollback.force = it->get<bool>();
  }
  ZTP_ASSIGN_OR_RETURN(rollback.reason, string_field(body, "reason"));
  target::Target* target = nullptr;
  ZTP_ASSIGN_OR_RETURN(target, target_for()(rollback.env));
  log::Scope scope({{"env", rollback.env}});
  log::info("rollback requested", {{"actor", caller.name}});
  auto progress = [](const engine::ProgressEvent& e) { log::info(e.message, {{"event", e.kind}}); };
  // What a dead process left half-done is put back first, as every command that changes an
  // environment does.
  engine::Pipeline repair{.spec = ws().spec,
                          .home = ws().home,
                          .store = store(),
                          .clock = *m_options.clock,
                          .target_for = target_for(),
                          .progress = progress,
                          .on_wait = {},
                          .wait_for_approval = false,
                          .wait_when_held = false,
                          .stop_requested = {},
                          .approval_poll = std::chrono::milliseconds(500),
                          .actor = caller.name};
  std::vector<engine::Repair> repaired;
  ZTP_ASSIGN_OR_RETURN(repaired, engine::reconcile_logged(repair));
  // Undoing a dead rollout of the environment was the rollback (as `ztp rollback` says).
  if (const auto* undone = engine::find_repair(repaired, rollback.env);
      undone != nullptr && !rollback.to_revision) {
    return json_response(200, {{"env", rollback.env},
                               {"method", "reconcile"},
                               {"processes_started", true},
                               {"repaired", undone->what}});
  }
  auto outcome = engine::rollback(ws().spec, ws().home, store(), *target, *m_options.clock,
                                  rollback, progress);
  if (!outcome.ok()) {
    // Nothing to go back to is a state of the environment, not a missing resource.
    if (outcome.error().code == Errc::not_found) {
      return error_response(409, outcome.error().message);
    }
    return outcome.take_error();
  }
  const auto& o = *outcome;
  return json_response(
      200, {{"env", o.to.env},
            {"method", engine::rollback_method_name(o.method)},
            {"from", o.from ? engine::record_json(*o.from) : nlohmann::json()},
            {"to", engine::record_json(o.to)},
            {"marked_bad", o.marked_bad ? nlohmann::json(o.from->digest) : nlohmann::json()},
            {"stopped", o.stopped},
            {"url", o.url}});
}

Result<Response> Api::verify(const Request& req, const Caller& caller, const Parts& parts) {
  const spec::Environment* env = nullptr;
  ZTP_ASSIGN_OR_RETURN(env, environment(parts[1]));
  ZTP_TRY(json_body(req));
  const auto& e = *env;
  auto base = verify::base_url_for_listen(e.listen);
  if (!base.ok()) {
    return error_response(
        500, fmt::format("environment {}: listen {}: {}", e.name, e.listen, base.error().message));
  }
  std::vector<spec::CheckSuite> suites;
  ZTP_ASSIGN_OR_RETURN(suites, verify::environment_suites(ws().spec, e, *base));
  log::Scope scope({{"env", e.name}});
  verify::CircuitBreaker breaker;
  auto report = verify::verify(suites, *base, breaker);
  size_t failed = 0;
  for (const auto& suite : report.suites) {
    for (const auto& check : suite.checks) {
      failed += check.passed ? 0 : 1;
    }
  }
  ZTP_TRY(
      store().append_audit(caller.name, "verify", "env " + e.name,
                           report.passed() ? "passed" : fmt::format("{} check(s) failed", failed)));
  log::info("verified", {{"passed", report.passed() ? "true" : "false"}, {"actor", caller.name}});
  nlohmann::json j = verify::to_json(report);
  j["environment"] = e.name;
  j["passed"] = report.passed();
  return json_response(200, j);
}

}  // namespace ztp::server
