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
  Response (Api::*handler)(const Request&, const Caller&, const std::vector<std::string>&);
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
    return (this->*route.handler)(req, *caller, parts);
  }
  if (!allowed.empty()) {
    auto res = error_response(405, fmt::format("{} does not answer {}; it answers {}", req.path,
                                               req.method, fmt::join(allowed, ", ")));
    res.headers.emplace_back("Allow", fmt::format("{}", fmt::join(allowed, ", ")));
    return res;
  }
  return error_response(404, fmt::format("no API route {} (docs/server.md lists them)", req.path));
}

Response Api::whoami(const Request&, const Caller& caller, const std::vector<std::string>&) {
  return json_response(200, {{"name", caller.name}, {"role", store::to_string(caller.role)}});
}

Response Api::apps(const Request&, const Caller&, const std::vector<std::string>&) {
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

Response Api::list_runs(const Request& req, const Caller&, const std::vector<std::string>&) {
  auto limit = int_param(req, "limit", 50);
  if (!limit.ok()) {
    return error_response(limit.error());
  }
  store::RunFilter filter;
  filter.limit = static_cast<int>(std::min<int64_t>(*limit, 1000));
  if (auto it = req.query.find("env"); it != req.query.end()) {
    filter.env = it->second;
  }
  auto runs = store().list_runs(filter);
  if (!runs.ok()) {
    return error_response(runs.error());
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : *runs) {
    out.push_back(engine::record_json(r));
  }
  return json_response(200, out);
}

Response Api::get_run(const Request&, const Caller&, const std::vector<std::string>& parts) {
  auto id = parse_int(parts[1]);
  auto run = id ? store().get_run(*id) : Result<store::Run>(make_error(Errc::not_found, ""));
  if (!run.ok()) {
    if (run.error().code == Errc::not_found) {
      return error_response(404, fmt::format("no run {} (GET /api/v1/runs lists them)", parts[1]));
    }
    return error_response(run.error());
  }
  nlohmann::json j = engine::record_json(*run);
  auto stages = store().list_stages(run->id);
  if (!stages.ok()) {
    return error_response(stages.error());
  }
  j["stages"] = nlohmann::json::array();
  for (const auto& s : *stages) {
    j["stages"].push_back(stage_json(s));
  }
  store::EventFilter filter;
  filter.run_id = run->id;
  filter.limit = 0;
  auto events = store().list_events(filter);
  if (!events.ok()) {
    return error_response(events.error());
  }
  j["events"] = nlohmann::json::array();
  for (const auto& e : *events) {
    j["events"].push_back(engine::record_json(e));
  }
  auto approval = store().get_approval(run->id);
  j["approval"] = approval.ok() ? approval_json(*approval) : nlohmann::json();
  j["pending_approval"] = approval.ok() && approval->status == store::ApprovalStatus::pending
                              ? nlohmann::json(approval->env)
                              : nlohmann::json();
  return json_response(200, j);
}

Response Api::queue_run(const Request& req, const Caller& caller, const std::vector<std::string>&) {
  auto body = json_body(req);
  if (!body.ok()) {
    return error_response(body.error());
  }
  auto commit = string_field(*body, "commit");
  if (!commit.ok()) {
    return error_response(commit.error());
  }
  if (!m_options.request_run) {
    return error_response(503, "this server has no run queue; `ztp run` starts a run instead");
  }
  auto queued = m_options.request_run(*commit, store::Trigger::manual, caller.name);
  if (!queued.ok()) {
    return error_response(queued.error());
  }
  auto audited = store().append_audit(caller.name, "queue_run",
                                      *queued ? fmt::format("run {}", **queued) : "run (coalesced)",
                                      commit->empty() ? "branch tip" : "commit " + *commit);
  if (!audited.ok()) {
    return error_response(audited.error());
  }
  return json_response(202, {{"queued", true}, {"run_id", optional_json(*queued)}});
}

Response Api::approve(const Request& req, const Caller& caller,
                      const std::vector<std::string>& parts) {
  return answer_gate(req, caller, parts[1], store::ApprovalStatus::approved);
}

Response Api::reject(const Request& req, const Caller& caller,
                     const std::vector<std::string>& parts) {
  return answer_gate(req, caller, parts[1], store::ApprovalStatus::rejected);
}

Response Api::answer_gate(const Request& req, const Caller& caller, const std::string& id_text,
                          store::ApprovalStatus decision) {
  auto body = json_body(req);
  if (!body.ok()) {
    return error_response(body.error());
  }
  auto comment = string_field(*body, "comment");
  if (!comment.ok()) {
    return error_response(comment.error());
  }
  auto id = parse_int(id_text);
  if (!id) {
    return error_response(404,
                          fmt::format("there is no run {}; GET /api/v1/runs lists them", id_text));
  }
  log::Scope scope({{"run", std::to_string(*id)}});
  // The same refusals as `ztp approve`: 404 for no such run, 409 for one that ended or waits
  // at no approval gate.
  auto answered = engine::answer_gate(store(), *id, decision, caller.name, *comment);
  if (!answered.ok()) {
    return error_response(answered.error());
  }
  bool approved = decision == store::ApprovalStatus::approved;
  log::info(approved ? "gate approved" : "gate rejected",
            {{"env", answered->env}, {"actor", caller.name}});
  if (m_options.on_gate_answered) {
    m_options.on_gate_answered(*id);
  }
  return json_response(200, {{"run_id", *id}, {"approval", approval_json(*answered)}});
}

Response Api::audit(const Request& req, const Caller&, const std::vector<std::string>&) {
  auto limit = int_param(req, "limit", 100);
  if (!limit.ok()) {
    return error_response(limit.error());
  }
  auto entries = store().list_audit(static_cast<int>(std::min<int64_t>(*limit, 10000)));
  if (!entries.ok()) {
    return error_response(entries.error());
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : *entries) {
    out.push_back(engine::record_json(e));
  }
  return json_response(200, out);
}

Response Api::events(const Request& req, const Caller&, const std::vector<std::string>&) {
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
    auto after = int_param(req, "after", 0);
    if (!after.ok()) {
      return error_response(after.error());
    }
    options.after_id = *after;
  }
  if (req.query.contains("run")) {
    auto run = int_param(req, "run", 0);
    if (!run.ok()) {
      return error_response(run.error());
    }
    options.run_id = *run;
  }
  Response res;
  res.content_type = "text/event-stream";
  res.stream = std::make_shared<EventStream>(store(), *m_options.clock, options);
  return res;
}

}  // namespace ztp::server
