#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/workspace.hpp"
#include "server/auth.hpp"
#include "server/env_view.hpp"
#include "server/http_types.hpp"
#include "util/clock.hpp"

// The JSON API under /api/v1 (docs/server.md): each route a function of Request -> Response,
// so tests call it without a socket. Every request carries a bearer token; every change of
// state is written to the store's audit log with the token's name as the actor.
namespace ztp::server {

class Api {
 public:
  struct Options {
    engine::Workspace* workspace = nullptr;  // spec, home, store, targets; must outlive the Api
    Clock* clock = &system_clock();
    std::chrono::milliseconds sse_heartbeat{15000};
    // Called after a gate of run `run_id` was answered (approved or rejected), so that the run
    // continues or ends. Unset: the answer is only recorded (a `ztp run` waiting on the gate
    // continues by itself; `ztp approve` or a controller resumes it otherwise).
    std::function<void(int64_t run_id)> on_gate_answered;
    // Queues a run of `commit` ("" = the branch tip); the run's id, nullopt when it coalesced
    // into a queued one. Unset: POST /runs answers 503.
    std::function<Result<std::optional<int64_t>>(const std::string& commit, store::Trigger,
                                                 const std::string& actor)>
        request_run;
    // The traffic points of `env` since `since_ms` (unix ms): [{at, release, requests_per_s,
    // error_rate, p95_ms}]. Unset: GET .../traffic answers 503.
    std::function<nlohmann::json(const std::string& env, int64_t since_ms)> traffic_points;
    // Detects drift in `env` (no repair) and returns the report's JSON. Unset: 503.
    std::function<Result<nlohmann::json>(const spec::Environment& env)> detect_drift;
  };

  explicit Api(Options options);

  // Answers any request whose path starts with /api/v1 (404 for an unknown route, 405 for a
  // known route with another method).
  Response handle(const Request& req);

 private:
  // The path's segments after /api/v1. A route's error is answered with error_response(error).
  using Parts = std::vector<std::string>;

  engine::Workspace& ws() { return *m_options.workspace; }
  store::SqliteStore& store() { return *m_options.workspace->store; }
  TargetFor target_for();

  // Runs and approvals (api.cpp).
  Result<Response> whoami(const Request&, const Caller&, const Parts&);
  Result<Response> apps(const Request&, const Caller&, const Parts&);
  Result<Response> list_runs(const Request&, const Caller&, const Parts&);
  Result<Response> get_run(const Request&, const Caller&, const Parts&);
  Result<Response> queue_run(const Request&, const Caller&, const Parts&);
  Result<Response> approve(const Request&, const Caller&, const Parts&);
  Result<Response> reject(const Request&, const Caller&, const Parts&);
  Result<Response> answer_gate(const Request&, const Caller&, const std::string& id,
                               store::ApprovalStatus decision);
  Result<Response> audit(const Request&, const Caller&, const Parts&);
  Result<Response> events(const Request&, const Caller&, const Parts&);

  // Environments (api_environments.cpp).
  Result<Response> list_environments(const Request&, const Caller&, const Parts&);
  Result<Response> get_environment(const Request&, const Caller&, const Parts&);
  Result<Response> traffic(const Request&, const Caller&, const Parts&);
  Result<Response> drift(const Request&, const Caller&, const Parts&);
  Result<Response> rollback(const Request&, const Caller&, const Parts&);
  Result<Response> verify(const Request&, const Caller&, const Parts&);
  // The environment named `name`, or a 404 response.
  Result<const spec::Environment*> environment(const std::string& name);

  Options m_options;
  std::mutex m_targets_mu;  // Workspace::target_for makes targets on first use
};

// The HTTP status the API answers an error class with: invalid 400, not_found 404, conflict
// and refused 409, timeout 504, unavailable 503, else 500.
int http_status(Errc code);
// error_response(http_status(error.code), error.message).
Response error_response(const Error& error);

// The body of a POST as a JSON object: "" is {}. Errc::invalid saying what is wrong.
Result<nlohmann::json> json_body(const Request& req);
// Field `name` of `body` as a string ("" when absent). Errc::invalid when it is another type.
Result<std::string> string_field(const nlohmann::json& body, const std::string& name);

}  // namespace ztp::server
