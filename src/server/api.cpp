#include "server/api.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <memory>

#include "engine/gates.hpp"
#include "engine/incident_report.hpp"
#include "server/sse.hpp"
#include "util/log.hpp"
#include "util/url_path.hpp"

namespace ztp::server {

namespace {

struct RouteEntry {
  std::string method;
  std::vector<std::string> pattern;  // "*" matches one segment
  store::Role role;
  Result<Response> (Api::*handler)(const Request&, const Caller&, const std::vector<std::string>&);
};

bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& parts) {
  if (pattern.size() != parts.size()) {
    return false;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    if (pattern[i] != "*" && pattern[i] != parts[i]) {
      return false;
    }
  }
  return true;
}

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

nlohmann::json optional_json(const std::optional<int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

// A stage as engine::record_json writes it, plus how long it took.
nlohmann::json stage_json(const store::Stage& s) {
  nlohmann::json j = engine::record_json(s);
  j["duration_ms"] = s.started_at && s.finished_at ? nlohmann::json(*s.finished_at - *s.started_at)
                                                   : nlohmann::json();
  return j;
}

nlohmann::json approval_json(const store::Approval& a) {
  return {{"env", a.env},
          {"status", store::to_string(a.status)},
          {"requested_at", a.requested_at},
          {"decided_at", optional_json(a.decided_at)},
          {"decided_by", a.decided_by},
          {"comment", a.comment}};
}

// The JSON array of `records` as engine::record_json writes each.
template <typename T>
nlohmann::json records_json(const std::vector<T>& records) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : records) {
    out.push_back(engine::record_json(r));
  }
  return out;
}

// A positive integer query parameter, `fallback` when absent.
Result<int64_t> int_param(const Request& req, const std::string& name, int64_t fallback) {
  auto it = req.query.find(name);
  if (it == req.query.end()) {
    return fallback;
  }
  auto v = parse_int(it->second);
  if (!v || *v < 0) {
    return make_error(Errc::invalid,
                      fmt::format("query parameter {}={} is not a number >= 0", name, it->second));
  }
  return *v;
}

// Field `name` of the request's JSON body, as json_body and string_field read them.
Result<std::string> body_string_field(const Request& req, const std::string& name) {
  nlohmann::json body;
  ZTP_ASSIGN_OR_RETURN(body, json_body(req));
  return string_field(body, name);
}

}  // namespace

int http_status(Errc code) {
  switch (code) {
    case Errc::invalid:
      return 400;
    case Errc::not_found:
      return 404;
    case Errc::conflict:
    case Errc::refused:
      return 409;
    case Errc::timeout:
      return 504;
    case Errc::unavailable:
      return 503;
    default:
      return 500;
  }
}

Response error_response(const Error& error) {
  return error_response(http_status(error.code), error.message);
}

Result<nlohmann::json> json_body(const Request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return nlohmann::json::object();
  }
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(req.body);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(Errc::invalid, fmt::format("{} {}: the body is not JSON: {}", req.method,
                                                 req.path, e.what()));
  }
  if (!body.is_object()) {
    return make_error(Errc::invalid,
                      fmt::format("{} {}: the body must be a JSON object", req.method, req.path));
  }
  return body;
}

Result<std::string> string_field(const nlohmann::json& body, const std::string& name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    return std::string();
  }
  if (!it->is_string()) {
    return make_error(Errc::invalid, fmt::format("field {} must be a string", name));
  }
  return it->get<std::string>();
}

Api::Api(Options options) : m_options(std::move(options)) {}

TargetFor Api::target_for() {
  return [this](const std::string& env) -> Result<target::Target*> {
    std::lock_guard lock(m_targets_mu);
    return ws().target_for(env);
  };
}

Response Api::handle(const Request& req) {
  static const std::vector<RouteEntry> k_routes = {
      {"GET", {"whoami"}, store::Role::viewer, &Api::whoami},
      {"GET", {"apps"}, store::Role::viewer, &Api::apps},
      {"GET", {"environments"}, store::Role::viewer, &Api::list_environments},
      {"GET", {"environments", "*"}, store::Role::viewer, &Api::get_environment},
      {"GET", {"environments", "*", "traffic"}, store::Role::viewer, &Api::traffic},
      {"GET", {"environments", "*", "drift"}, store::Role::viewer, &Api::drift},
      {"POST", {"environments", "*", "rollback"}, store::Role::deployer, &Api::rollback},
      {"POST", {"environments", "*", "verify"}, store::Role::deployer, &Api::verify},
      {"GET", {"runs"}, store::Role::viewer, &Api::list_runs},
      {"POST", {"runs"}, store::Role::deployer, &Api::queue_run},
      {"GET", {"runs", "*"}, store::Role::viewer, &Api::get_run},
      {"POST", {"runs", "*", "approve"}, store::Role::deployer, &Api::approve},
      {"POST", {"runs", "*", "reject"}, store::Role::deployer, &Api::reject},
      {"GET", {"audit"}, store::Role::admin, &Api::audit},
      {"GET", {"events"}, store::Role::viewer, &Api::events},
  };
  auto parts = path_segments(req.path);
  if (parts.size() < 2 || parts[0] != "api" || parts[1] != "v1") {
    return error_response(404, fmt::format("no route {}", req.path));
  }
  parts.erase(parts.begin(), parts.begin() + 2);

  bool is_events = parts.size() == 1 && parts[0] == "events";
  auto caller = authenticate(store(), req, is_events);
  if (!caller.ok()) {
    auto code = caller.error().code;
    if (code != Errc::invalid && code != Errc::not_found) {
      return error_response(caller.error());
    }
    auto res = error_response(401, caller.error().message);
    res.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ztp\"");
    return res;
  }

  std::vector<std::string> allowed;
  for (const auto& route : k_routes) {
    if (!matches(route.pattern, parts)) {
      continue;
    }
    if (route.method != req.method) {
      allowed.push_back(route.method);
      continue;
    }
    if (!role_allows(caller->role, route.role)) {
      return error_response(403, fmt::format("{} {} needs the {} role; token {} is a {}",
                                             req.method, req.path, store::to_string(route.role),
                                             caller->name, store::to_string(caller->role)));
    }
    auto res = (this->*route.handler)(req, *caller, parts);
    return res.ok() ? std::move(*res) : error_response(res.error());
  }
  if (!allowed.empty()) {
    auto res = error_response(405, fmt::format("{} does not answer {}; it answers {}", req.path,
                                               req.method, fmt::join(allowed, ", ")));
    res.headers.emplace_back("Allow", fmt::format("{}", fmt::join(allowed, ", ")));
    return res;
  }
  return error_response(404, fmt::format("no API route {} (docs/server.md lists them)", req.path));
}

Result<Response> Api::whoami(const Request&, const Caller& caller, const Parts&) {
  return json_response(200, {{"name", caller.name}, {"role", store::to_string(caller.role)}});
}

Result<Response> Api::apps(const Request&, const Caller&, const Parts&) {
  const auto& spec = ws().spec;
  nlohmann::json envs = nlohmann::json::array();
  for (const auto& e : spec.environments) {
    envs.push_back(e.name);
  }
  return json_response(200, nlohmann::json::array({{{"name", spec.app},
                                                    {"repo", spec.source.repo},
                                                    {"branch", spec.source.branch},
                                                    {"environments", envs}}}));
}

Result<Response> Api::list_runs(const Request& req, const Caller&, const Parts&) {
  int64_t limit = 0;
  ZTP_ASSIGN_OR_RETURN(limit, int_param(req, "limit", 50));
  store::RunFilter filter;
  filter.limit = static_cast<int>(std::min<int64_t>(limit, 1000));
  if (auto it = req.query.find("env"); it != req.query.end()) {
    filter.env = it->second;
  }
  std::vector<store::Run> runs;
  ZTP_ASSIGN_OR_RETURN(runs, store().list_runs(filter));
  return json_response(200, records_json(runs));
}

Result<Response> Api::get_run(const Request&, const Caller&, const Parts& parts) {
  auto id = parse_int(parts[1]);
  auto run = id ? store().get_run(*id) : Result<store::Run>(make_error(Errc::not_found, ""));
  if (!run.ok()) {
    if (run.error().code == Errc::not_found) {
      return error_response(404, fmt::format("no run {} (GET /api/v1/runs lists them)", parts[1]));
    }
    return run.take_error();
  }
  nlohmann::json j = engine::record_json(*run);
  std::vector<store::Stage> stages;
  ZTP_ASSIGN_OR_RETURN(stages, store().list_stages(run->id));
  j["stages"] = nlohmann::json::array();
  for (const auto& s : stages) {
    j["stages"].push_back(stage_json(s));
  }
  store::EventFilter filter;
  filter.run_id = run->id;
  filter.limit = 0;
  std::vector<store::Event> events;
  ZTP_ASSIGN_OR_RETURN(events, store().list_events(filter));
  j["events"] = records_json(events);
  auto approval = store().get_approval(run->id);
  j["approval"] = approval.ok() ? approval_json(*approval) : nlohmann::json();
  j["pending_approval"] = approval.ok() && approval->status == store::ApprovalStatus::pending
                              ? nlohmann::json(approval->env)
                              : nlohmann::json();
  return json_response(200, j);
}

Result<Response> Api::queue_run(const Request& req, const Caller& caller, const Parts&) {
  std::string commit;
  ZTP_ASSIGN_OR_RETURN(commit, body_string_field(req, "commit"));
  if (!m_options.request_run) {
    return error_response(503, "this server has no run queue; `ztp run` starts a run instead");
  }
  std::optional<int64_t> queued;
  ZTP_ASSIGN_OR_RETURN(queued, m_options.request_run(commit, store::Trigger::manual, caller.name));
  ZTP_TRY(store().append_audit(caller.name, "queue_run",
                               queued ? fmt::format("run {}", *queued) : "run (coalesced)",
                               commit.empty() ? "branch tip" : "commit " + commit));
  return json_response(202, {{"queued", true}, {"run_id", optional_json(queued)}});
}

Result<Response> Api::approve(const Request& req, const Caller& caller, const Parts& parts) {
  return answer_gate(req, caller, parts[1], store::ApprovalStatus::approved);
}

Result<Response> Api::reject(const Request& req, const Caller& caller, const Parts& parts) {
  return answer_gate(req, caller, parts[1], store::ApprovalStatus::rejected);
}

Result<Response> Api::answer_gate(const Request& req, const Caller& caller,
                                  const std::string& id_text, store::ApprovalStatus decision) {
  std::string comment;
  ZTP_ASSIGN_OR_RETURN(comment, body_string_field(req, "comment"));
  auto id = parse_int(id_text);
  if (!id) {
    return error_response(404,
                          fmt::format("there is no run {}; GET /api/v1/runs lists them", id_text));
  }
  log::Scope scope({{"run", std::to_string(*id)}});
  // The same refusals as `ztp approve`: 404 for no such run, 409 for one that ended or waits
  // at no approval gate.
  store::Approval answered;
  ZTP_ASSIGN_OR_RETURN(answered, engine::answer_gate(store(), *id, decision, caller.name, comment));
  bool approved = decision == store::ApprovalStatus::approved;
  log::info(approved ? "gate approved" : "gate rejected",
            {{"env", answered.env}, {"actor", caller.name}});
  if (m_options.on_gate_answered) {
    m_options.on_gate_answered(*id);
  }
  return json_response(200, {{"run_id", *id}, {"approval", approval_json(answered)}});
}

Result<Response> Api::audit(const Request& req, const Caller&, const Parts&) {
  int64_t limit = 0;
  ZTP_ASSIGN_OR_RETURN(limit, int_param(req, "limit", 100));
  std::vector<store::AuditEntry> entries;
  ZTP_ASSIGN_OR_RETURN(entries,
                       store().list_audit(static_cast<int>(std::min<int64_t>(limit, 10000))));
  return json_response(200, records_json(entries));
}

Result<Response> Api::events(const Request& req, const Caller&, const Parts&) {
  EventStreamOptions options;
  options.heartbeat = m_options.sse_heartbeat;
  std::string last = req.header("last-event-id");
  if (!last.empty()) {
    auto v = parse_int(last);
    if (!v || *v < 0) {
      return error_response(400, fmt::format("Last-Event-ID {} is not an event id", last));
    }
    options.after_id = *v;
  } else {
    ZTP_ASSIGN_OR_RETURN(options.after_id, int_param(req, "after", 0));
  }
  if (req.query.contains("run")) {
    ZTP_ASSIGN_OR_RETURN(options.run_id, int_param(req, "run", 0));
  }
  Response res;
  res.content_type = "text/event-stream";
  res.stream = std::make_shared<EventStream>(store(), *m_options.clock, options);
  return res;
}

}  // namespace ztp::server
