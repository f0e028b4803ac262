#include "server/api.hpp"

#include <gtest/gtest.h>

#include "server/server.hpp"
#include "server/sse.hpp"
#include "support/support.hpp"

namespace ztp::server {
namespace {

using nlohmann::json;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::copy_file(testing::source_dir() / "application" / "ztp.yaml",
                               dir / "ztp.yaml");
    auto opened = engine::open_workspace(dir / "ztp.yaml", dir / "home");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    ws = std::make_unique<engine::Workspace>(std::move(*opened));
    for (auto role : {store::Role::viewer, store::Role::deployer, store::Role::admin}) {
      auto issued = issue_token(*ws->store, std::string(store::to_string(role)), role);
      ASSERT_TRUE(issued.ok());
      tokens[role] = issued->token;
    }
    options.workspace = ws.get();
    options.on_gate_answered = [this](int64_t id) { answered.push_back(id); };
  }

  Response call(const std::string& method, const std::string& target,
                std::optional<store::Role> role, const std::string& body = "") {
    Request req;
    req.method = method;
    req.target = target;
    parse_target(target, req.path, req.query);
    req.body = body;
    if (role) {
      req.headers["authorization"] = "Bearer " + tokens[*role];
    }
    return handle(req);
  }

  // A fresh Api with the options as they are now.
  Response handle(const Request& req) {
    Api api(options);
    return api.handle(req);
  }

  // A run waiting at prod's approval gate.
  int64_t waiting_run() {
    auto run =
        ws->store->create_run({"sample-site", "abcdef1234", "abcdef1", store::Trigger::manual, ""});
    EXPECT_TRUE(run.ok());
    EXPECT_TRUE(ws->store->start_stage(run->id, "build").ok());
    EXPECT_TRUE(ws->store->request_approval(run->id, "prod").ok());
    EXPECT_TRUE(
        ws->store->update_run_status(run->id, store::RunStatus::awaiting_approval, "prod").ok());
    EXPECT_TRUE(
        ws->store->append_event({run->id, std::string("prod"), "gate.waiting", "waits", "{}"})
            .ok());
    return run->id;
  }

  static json body(const Response& res) { return json::parse(res.body); }
  static std::string message(const Response& res) {
    return body(res)["error"]["message"].get<std::string>();
  }

  testing::TempDir dir;
  std::unique_ptr<engine::Workspace> ws;
  std::map<store::Role, std::string> tokens;
  Api::Options options;
  std::vector<int64_t> answered;
};

constexpr auto viewer = store::Role::viewer;
constexpr auto deployer = store::Role::deployer;
constexpr auto admin = store::Role::admin;

TEST_F(ApiTest, AsksForAToken) {
  auto res = call("GET", "/api/v1/whoami", std::nullopt);
  EXPECT_EQ(res.status, 401);
  EXPECT_NE(message(res).find("Authorization: Bearer"), std::string::npos);
  Request bad;
  bad.method = "GET";
  bad.path = "/api/v1/whoami";
  bad.headers["authorization"] = "Bearer ztp_nope";
  EXPECT_EQ(handle(bad).status, 401);
}

TEST_F(ApiTest, SaysWhoCalls) {
  auto res = call("GET", "/api/v1/whoami", deployer);
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(body(res), (json{{"name", "deployer"}, {"role", "deployer"}}));
}

TEST_F(ApiTest, ListsTheApp) {
  auto res = call("GET", "/api/v1/apps", viewer);
  ASSERT_EQ(res.status, 200);
  auto j = body(res);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "sample-site");
  EXPECT_EQ(j[0]["branch"], "main");
  EXPECT_EQ(j[0]["environments"], (json{"dev", "qa", "prod"}));
}

TEST_F(ApiTest, ShowsEnvironmentsWithTheirRelease) {
  auto rel = ws->store->create_release({"dev", "sha256:" + std::string(64, 'a'), "img", "abcdef1",
                                        "cfg", 2, "rolling", std::nullopt});
  ASSERT_TRUE(rel.ok());
  ASSERT_TRUE(
      ws->store->set_release_status("dev", rel->revision, store::ReleaseStatus::active).ok());
  auto res = call("GET", "/api/v1/environments", viewer);
  ASSERT_EQ(res.status, 200) << res.body;
  auto j = body(res);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["name"], "dev");
  EXPECT_EQ(j[0]["url"], "http://127.0.0.1:8081/");
  EXPECT_EQ(j[0]["release"]["revision"], 1);
  EXPECT_EQ(j[0]["release"]["short_sha"], "abcdef1");
  EXPECT_EQ(j[0]["replicas"], json::array());
  EXPECT_EQ(j[0]["healthy"], false);
  EXPECT_TRUE(j[1]["release"].is_null());
  EXPECT_TRUE(j[0]["frozen"].is_null());

  auto one = call("GET", "/api/v1/environments/dev", viewer);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(body(one)["releases"].size(), 1u);
  auto missing = call("GET", "/api/v1/environments/staging", viewer);
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(message(missing).find("dev, qa, prod"), std::string::npos);
}

TEST_F(ApiTest, ShowsRunsWithStagesEventsAndTheirGate) {
  int64_t id = waiting_run();
  auto list = call("GET", "/api/v1/runs?limit=5", viewer);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(body(list).size(), 1u);
  EXPECT_EQ(body(list)[0]["status"], "awaiting_approval");
  EXPECT_EQ(call("GET", "/api/v1/runs?limit=x", viewer).status, 400);

  auto one = call("GET", "/api/v1/runs/" + std::to_string(id), viewer);
  ASSERT_EQ(one.status, 200);
  auto j = body(one);
  EXPECT_EQ(j["short_sha"], "abcdef1");
  EXPECT_EQ(j["stages"][0]["name"], "build");
  EXPECT_EQ(j["events"][0]["kind"], "gate.waiting");
  EXPECT_EQ(j["pending_approval"], "prod");

  EXPECT_EQ(call("GET", "/api/v1/runs/999", viewer).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/runs/abc", viewer).status, 404);
}

TEST_F(ApiTest, ApprovesAsTheTokenAndAudits) {
  int64_t id = waiting_run();
  std::string path = "/api/v1/runs/" + std::to_string(id) + "/approve";
  auto refused = call("POST", path, viewer, R"({"comment": "ok"})");
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(message(refused).find("deployer"), std::string::npos);

  auto malformed = call("POST", path, deployer, R"({"comment": )");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(message(malformed).find("not JSON"), std::string::npos);
  EXPECT_EQ(call("POST", path, deployer, R"({"comment": 5})").status, 400);
  EXPECT_EQ(call("POST", path, deployer, R"([1])").status, 400);

  auto ok = call("POST", path, deployer, R"({"comment": "looks good"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["approval"]["status"], "approved");
  auto approval = ws->store->get_approval(id);
  ASSERT_TRUE(approval.ok());
  EXPECT_EQ(approval->decided_by, "deployer");
  EXPECT_EQ(approval->comment, "looks good");
  EXPECT_EQ(answered, std::vector<int64_t>{id});

  auto audit = ws->store->list_audit(10);
  ASSERT_TRUE(audit.ok());
  ASSERT_FALSE(audit->empty());
  EXPECT_EQ(audit->front().actor, "deployer");
  EXPECT_EQ(audit->front().action, "approve");
  EXPECT_EQ(audit->front().target, "run " + std::to_string(id));

  EXPECT_EQ(call("POST", path, deployer, "").status, 409);
  EXPECT_EQ(call("POST", "/api/v1/runs/999/approve", deployer, "").status, 404);
  auto wrong_method = call("GET", path, deployer);
  EXPECT_EQ(wrong_method.status, 405);
}

TEST_F(ApiTest, RefusesRunsThatEndedOrDoNotExistAsTheCliDoes) {
  int64_t id = waiting_run();
  auto audited_before = ws->store->list_audit(100)->size();
  ASSERT_TRUE(ws->store
                  ->update_run_status(id, store::RunStatus::cancelled,
                                      "superseded by run 8 (commit 1234567)")
                  .ok());
  auto superseded = call("POST", "/api/v1/runs/" + std::to_string(id) + "/approve", deployer, "");
  EXPECT_EQ(superseded.status, 409) << superseded.body;
  EXPECT_NE(message(superseded).find("superseded by run 8"), std::string::npos) << superseded.body;
  EXPECT_EQ(ws->store->get_approval(id)->status, store::ApprovalStatus::pending);
  EXPECT_TRUE(answered.empty());

  auto none = call("POST", "/api/v1/runs/999/reject", deployer, "");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(message(none).rfind("there is no run 999", 0), 0u) << none.body;

  auto running =
      ws->store->create_run({"sample-site", "1234567890", "1234567", store::Trigger::manual, ""});
  ASSERT_TRUE(running.ok());
  ASSERT_TRUE(ws->store->update_run_status(running->id, store::RunStatus::running).ok());
  auto not_waiting =
      call("POST", "/api/v1/runs/" + std::to_string(running->id) + "/approve", deployer, "");
  EXPECT_EQ(not_waiting.status, 409);
  EXPECT_NE(message(not_waiting).find("not waiting at an approval gate"), std::string::npos)
      << not_waiting.body;
  EXPECT_EQ(ws->store->list_audit(100)->size(), audited_before);
}

TEST_F(ApiTest, RejectsAGate) {
  int64_t id = waiting_run();
  auto res = call("POST", "/api/v1/runs/" + std::to_string(id) + "/reject", admin,
                  R"({"comment": "not today"})");
  ASSERT_EQ(res.status, 200) << res.body;
  auto approval = ws->store->get_approval(id);
  ASSERT_TRUE(approval.ok());
  EXPECT_EQ(approval->status, store::ApprovalStatus::rejected);
  EXPECT_EQ(answered, std::vector<int64_t>{id});
}

TEST_F(ApiTest, ShowsTheAuditLogToAdminsOnly) {
  ASSERT_TRUE(ws->store->append_audit("alice", "rollback", "env prod", "to 3").ok());
  EXPECT_EQ(call("GET", "/api/v1/audit", deployer).status, 403);
  auto res = call("GET", "/api/v1/audit", admin);
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(body(res)[0]["actor"], "alice");
}

TEST_F(ApiTest, QueuesRunsThroughTheController) {
  EXPECT_EQ(call("POST", "/api/v1/runs", deployer, "{}").status, 503);
  std::string seen;
  options.request_run = [&](const std::string& commit, store::Trigger trigger,
                            const std::string& actor) -> Result<std::optional<int64_t>> {
    seen = commit + " " + std::string(store::to_string(trigger)) + " " + actor;
    return std::optional<int64_t>(42);
  };
  EXPECT_EQ(call("POST", "/api/v1/runs", viewer, "{}").status, 403);
  auto res = call("POST", "/api/v1/runs", deployer, R"({"commit": "abc"})");
  ASSERT_EQ(res.status, 202);
  EXPECT_EQ(body(res)["run_id"], 42);
  EXPECT_EQ(seen, "abc manual deployer");
}

TEST_F(ApiTest, RollbackNeedsSomethingToGoBackTo) {
  EXPECT_EQ(call("POST", "/api/v1/environments/dev/rollback", viewer, "{}").status, 403);
  EXPECT_EQ(
      call("POST", "/api/v1/environments/dev/rollback", deployer, R"({"revision": "x"})").status,
      400);
  EXPECT_EQ(call("POST", "/api/v1/environments/nope/rollback", deployer, "{}").status, 404);
  auto res = call("POST", "/api/v1/environments/dev/rollback", deployer, "{}");
  EXPECT_EQ(res.status, 409) << res.body;
}

TEST_F(ApiTest, TrafficAndDriftComeFromTheirSources) {
  EXPECT_EQ(call("GET", "/api/v1/environments/dev/traffic", viewer).status, 503);
  EXPECT_EQ(call("GET", "/api/v1/environments/dev/drift", viewer).status, 503);
  options.traffic_points = [](const std::string& env, int64_t since) {
    return json::array({{{"env", env}, {"since", since}}});
  };
  options.detect_drift = [](const spec::Environment& env) -> Result<json> {
    return json{{"env", env.name}, {"in_sync", true}};
  };
  auto traffic = call("GET", "/api/v1/environments/dev/traffic?since=5", viewer);
  ASSERT_EQ(traffic.status, 200);
  EXPECT_EQ(body(traffic)["points"][0]["since"], 5);
  EXPECT_EQ(body(traffic)["deployments"], json::array());
  EXPECT_EQ(call("GET", "/api/v1/environments/dev/traffic?since=soon", viewer).status, 400);
  auto drift = call("GET", "/api/v1/environments/qa/drift", viewer);
  ASSERT_EQ(drift.status, 200);
  EXPECT_EQ(body(drift)["env"], "qa");
}

TEST_F(ApiTest, StreamsEventsWithAQueryTokenAndLastEventId) {
  int64_t id = waiting_run();
  auto later = ws->store->append_event({id, std::string("prod"), "gate.approved", "ok", "{}"});
  ASSERT_TRUE(later.ok());
  Request req;
  req.method = "GET";
  req.path = "/api/v1/events";
  req.query["access_token"] = tokens[viewer];
  req.headers["last-event-id"] = std::to_string(later->id - 1);
  auto res = handle(req);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.content_type, "text/event-stream");
  ASSERT_TRUE(res.stream);
  auto out = res.stream->next();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->find("gate.waiting"), std::string::npos);
  EXPECT_NE(out->find("event: gate.approved"), std::string::npos);

  // Elsewhere a query token is not enough.
  Request other;
  other.method = "GET";
  other.path = "/api/v1/runs";
  other.query["access_token"] = tokens[viewer];
  EXPECT_EQ(handle(other).status, 401);
}

TEST_F(ApiTest, AnswersUnknownRoutesWith404) {
  EXPECT_EQ(call("GET", "/api/v1/nothing", viewer).status, 404);
}

TEST_F(ApiTest, ServerRoutesHooksMetricsAndAssetsWithoutAToken) {
  Server::Options server;
  server.api = options;
  Api api(options);
  auto route = [&](const std::string& method, const std::string& path) {
    Request req;
    req.method = method;
    req.path = path;
    return Server::route(server, api, req);
  };
  EXPECT_EQ(route("POST", "/hooks/github").status, 404);
  EXPECT_EQ(route("GET", "/metrics").status, 404);
  EXPECT_EQ(route("GET", "/").status, 404);
  EXPECT_EQ(route("GET", "/api/v1/whoami").status, 401);

  server.github_webhook = [](const Request&) { return json_response(202, {{"hook", true}}); };
  server.metrics = [](const Request&) {
    return Response{200, "text/plain; version=0.0.4", "ztp_up 1\n", {}};
  };
  server.asset = [](std::string_view path) -> std::optional<Response> {
    if (path != "/") {
      return std::nullopt;
    }
    return Response{200, "text/html", "<html></html>", {}};
  };
  EXPECT_EQ(route("POST", "/hooks/github").status, 202);
  EXPECT_EQ(route("GET", "/hooks/github").status, 405);
  EXPECT_EQ(route("GET", "/metrics").body, "ztp_up 1\n");
  EXPECT_EQ(route("DELETE", "/metrics").status, 405);
  EXPECT_EQ(route("GET", "/").content_type, "text/html");
  EXPECT_EQ(route("GET", "/missing.js").status, 404);
}

}  // namespace
}  // namespace ztp::server
