// `ztp serve` over real HTTP: the sample application from `ztp init`, tokens from `ztp token`,
// every API route and role, and the event stream following what another `ztp` command does.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "store/sqlite_store.hpp"
#include "support/support.hpp"

extern char** environ;

namespace ztp {
namespace {

using nlohmann::json;
using testing::run_ztp;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

void replace_all(const std::filesystem::path& p, const std::string& from, const std::string& to) {
  auto text = read_file(p);
  ASSERT_NE(text.find(from), std::string::npos) << from << " not in " << p;
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  std::ofstream(p) << text;
}

// A connected loopback socket, closed on destruction.
class Connection {
 public:
  explicit Connection(int port) : m_fd(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m_ok = ::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Connection() { ::close(m_fd); }
  bool ok() const { return m_ok; }
  void send(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::send(m_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) {
        return;
      }
      done += static_cast<size_t>(n);
    }
  }
  // Reads until `until` holds for what was read, the peer closes, or `timeout` passes.
  std::string read(const std::function<bool(const std::string&)>& until,
                   std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!until(m_in)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        break;
      }
      pollfd p{m_fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        break;
      }
      char buf[4096];
      auto n = ::recv(m_fd, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      m_in.append(buf, static_cast<size_t>(n));
    }
    return m_in;
  }

 private:
  int m_fd;
  bool m_ok = false;
  std::string m_in;
};

struct Reply {
  int status = -1;
  std::string head;
  std::string body;
  json data() const { return json::parse(body, nullptr, false); }
  std::string message() const {
    auto j = data();
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
  }
};

// One request on its own connection (Connection: close), read to the end.
Reply request(int port, const std::string& method, const std::string& path,
              const std::string& token, const std::string& body = "") {
  Connection c(port);
  if (!c.ok()) {
    return {};
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty()) {
    req += "Authorization: Bearer " + token + "\r\n";
  }
  if (method == "POST") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  c.send(req + "\r\n" + body);
  std::string all = c.read([](const std::string&) { return false; }, std::chrono::minutes(2));
  Reply r;
  auto end = all.find("\r\n\r\n");
  if (all.size() < 12 || end == std::string::npos) {
    return r;
  }
  r.status = std::stoi(all.substr(9, 3));
  r.head = all.substr(0, end);
  r.body = all.substr(end + 4);
  return r;
}

// Starts ztp with `args` in the background, its output into `out`.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::filesystem::path& out) {
  std::vector<std::string> argv{testing::ztp_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::spawn_process(argv, env, out);
}

class ServeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    auto init = run_ztp({"init", app().string()});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    // Free ports instead of the sample's fixed ones, and quick health checks and drains.
    int range = testing::replica_port_range_start(testing::free_port());
    replace_all(spec(), "20000-29999", std::to_string(range) + "-" + std::to_string(range + 200));
    for (const std::string fixed : {"8081", "8082", "8083", "9082"}) {
      replace_all(spec(), "127.0.0.1:" + fixed,
                  "127.0.0.1:" + std::to_string(testing::free_port()));
    }
    replace_all(spec(), "interval: 2s", "interval: 200ms");
    replace_all(spec(), "drain_timeout: 30s", "drain_timeout: 1s");
    env = {"ZTP_HOME=" + home().string(), "ZTP_FILE=" + spec().string()};
    for (const std::string role : {"viewer", "deployer", "admin"}) {
      auto made = run_ztp({"token", "create", role, "--role", role, "--output", "json"}, env);
      ASSERT_EQ(made.exit_code, 0) << made.err;
      tokens[role] = json::parse(made.out)["token"].get<std::string>();
    }
    port = testing::free_port();
    serve_log = dir / "serve.log";
    serve_pid =
        spawn({"serve", "--listen", "127.0.0.1:" + std::to_string(port), "--log-format", "json"},
              env, serve_log);
    ASSERT_GT(serve_pid, 0);
    ASSERT_TRUE(testing::wait_until([&] {
      return testing::http_get(port, "/api/v1/whoami").status == 401;
    })) << read_file(serve_log);
  }

  void TearDown() override {
    if (serve_pid > 0) {
      ::kill(serve_pid, SIGTERM);
      int status = 0;
      ::waitpid(serve_pid, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "ztp serve did not stop cleanly on SIGTERM:\n"
          << read_file(serve_log);
    }
    if (std::filesystem::exists(spec())) {
      run_ztp({"down"}, env);
    }
  }

  std::filesystem::path app() const { return dir / "app"; }
  std::filesystem::path home() const { return dir / "home"; }
  std::filesystem::path spec() const { return app() / "ztp.yaml"; }

  Reply get(const std::string& path, const std::string& role) {
    return request(port, "GET", path, role.empty() ? "" : tokens[role]);
  }
  Reply post(const std::string& path, const std::string& role, const std::string& body) {
    return request(port, "POST", path, role.empty() ? "" : tokens[role], body);
  }

  // A run waiting at prod's gate, recorded as `ztp run --no-wait-approval` would leave it.
  int64_t waiting_run() {
    auto store = store::SqliteStore::open(home() / "state.db");
    EXPECT_TRUE(store.ok());
    auto run = (*store)->create_run(
        {"sample-site", "0123456789ab", "0123456", store::Trigger::manual, ""});
    EXPECT_TRUE(run.ok());
    EXPECT_TRUE((*store)->request_approval(run->id, "prod").ok());
    EXPECT_TRUE(
        (*store)->update_run_status(run->id, store::RunStatus::awaiting_approval, "prod").ok());
    return run->id;
  }

  testing::TempDir dir;
  std::vector<std::string> env;
  std::map<std::string, std::string> tokens;
  int port = 0;
  std::filesystem::path serve_log;
  pid_t serve_pid = -1;
};

TEST_F(ServeApiTest, EveryRouteAnswersByRole) {
  // No token, an unknown one, and a token in the query where only /events takes one.
  EXPECT_EQ(get("/api/v1/whoami", "").status, 401);
  EXPECT_EQ(request(port, "GET", "/api/v1/whoami", "ztp_unknown").status, 401);
  EXPECT_EQ(get("/api/v1/runs?access_token=" + tokens["viewer"], "").status, 401);

  auto who = get("/api/v1/whoami", "viewer");
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(who.data(), (json{{"name", "viewer"}, {"role", "viewer"}}));

  auto apps = get("/api/v1/apps", "viewer");
  ASSERT_EQ(apps.status, 200);
  EXPECT_EQ(apps.data()[0]["name"], "sample-site");

  auto envs = get("/api/v1/environments", "viewer");
  ASSERT_EQ(envs.status, 200) << envs.body;
  ASSERT_EQ(envs.data().size(), 3u);
  EXPECT_TRUE(envs.data()[2]["release"].is_null());
  EXPECT_EQ(get("/api/v1/environments/prod", "viewer").status, 200);
  EXPECT_EQ(get("/api/v1/environments/nowhere", "viewer").status, 404);

  // Runs and gates.
  int64_t id = waiting_run();
  std::string run_path = "/api/v1/runs/" + std::to_string(id);
  auto runs = get("/api/v1/runs?limit=10", "viewer");
  ASSERT_EQ(runs.status, 200);
  EXPECT_EQ(runs.data()[0]["id"], id);
  auto run = get(run_path, "viewer");
  ASSERT_EQ(run.status, 200);
  EXPECT_EQ(run.data()["pending_approval"], "prod");
  EXPECT_EQ(get("/api/v1/runs/4242", "viewer").status, 404);

  auto viewer_approves = post(run_path + "/approve", "viewer", R"({"comment": "yes"})");
  EXPECT_EQ(viewer_approves.status, 403);
  EXPECT_NE(viewer_approves.message().find("deployer"), std::string::npos);
  auto malformed = post(run_path + "/approve", "deployer", R"({"comment": "yes")");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.message().find("not JSON"), std::string::npos) << malformed.body;
  EXPECT_EQ(post("/api/v1/runs/4242/approve", "deployer", "{}").status, 404);
  auto approved = post(run_path + "/approve", "deployer", R"({"comment": "ship it"})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.data()["approval"]["decided_by"], "deployer");
  EXPECT_EQ(post(run_path + "/approve", "deployer", "{}").status, 409);

  int64_t second = waiting_run();
  auto rejected =
      post("/api/v1/runs/" + std::to_string(second) + "/reject", "admin", R"({"comment": "no"})");
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(rejected.data()["approval"]["status"], "rejected");

  // The audit log names the tokens; only admins read it.
  EXPECT_EQ(get("/api/v1/audit", "deployer").status, 403);
  auto audit = get("/api/v1/audit", "admin");
  ASSERT_EQ(audit.status, 200);
  bool approve_seen = false;
  bool reject_seen = false;
  for (const auto& e : audit.data()) {
    approve_seen |= e["actor"] == "deployer" && e["action"] == "approve";
    reject_seen |= e["actor"] == "admin" && e["action"] == "reject";
  }
  EXPECT_TRUE(approve_seen && reject_seen) << audit.body;

  // The approval's log line carries the run.
  bool logged = testing::wait_until([&] {
    std::ifstream in(serve_log);
    for (std::string line; std::getline(in, line);) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("msg", j.value("message", "")) == "gate approved" &&
          j.dump().find("\"" + std::to_string(id) + "\"") != std::string::npos) {
        return true;
      }
    }
    return false;
  });
  EXPECT_TRUE(logged) << read_file(serve_log);

  // Routes whose source the controller wires answer 503 until it does; methods are checked.
  EXPECT_EQ(post("/api/v1/runs", "viewer", "{}").status, 403);
  EXPECT_EQ(get("/api/v1/runs/1/approve", "deployer").status, 405);
  EXPECT_EQ(get("/api/v1/nothing", "viewer").status, 404);
  EXPECT_EQ(get("/no-such-page", "").status, 404);
}

TEST_F(ServeApiTest, EnvironmentsShowADeployAndTheStreamFollowsIt) {
  // Open the stream first, from the newest event on.
  Connection stream(port);
  ASSERT_TRUE(stream.ok());
  stream.send("GET /api/v1/events?access_token=" + tokens["viewer"] +
              " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto head =
      stream.read([](const std::string& s) { return s.find("retry:") != std::string::npos; },
                  std::chrono::seconds(10));
  ASSERT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
  EXPECT_NE(head.find("text/event-stream"), std::string::npos);

  auto deployed = run_ztp({"deploy", "dev", "--dir", app().string()}, env);
  ASSERT_EQ(deployed.exit_code, 0) << deployed.err;

  auto events = stream.read(
      [](const std::string& s) { return s.find("\"env\":\"dev\"") != std::string::npos; },
      std::chrono::seconds(30));
  EXPECT_NE(events.find("\nid: "), std::string::npos) << events;
  EXPECT_NE(events.find("\nevent: "), std::string::npos);
  EXPECT_NE(events.find("\"env\":\"dev\""), std::string::npos);

  auto dev = get("/api/v1/environments/dev", "viewer");
  ASSERT_EQ(dev.status, 200) << dev.body;
  auto j = dev.data();
  EXPECT_EQ(j["release"]["revision"], 1) << j.dump(2);
  EXPECT_EQ(j["weights"]["1"], 100) << j.dump(2);
  ASSERT_EQ(j["replicas"].size(), 2u) << j.dump(2);
  for (const auto& r : j["replicas"]) {
    EXPECT_EQ(r["release_revision"], 1);
    EXPECT_GT(r["port"].get<int>(), 0);
    EXPECT_TRUE(r["alive"].get<bool>());
  }
  EXPECT_EQ(j["releases"].size(), 1u);

  // Verify runs dev's checks; a viewer may not.
  EXPECT_EQ(post("/api/v1/environments/dev/verify", "viewer", "{}").status, 403);
  auto verified = post("/api/v1/environments/dev/verify", "deployer", "{}");
  ASSERT_EQ(verified.status, 200) << verified.body;
  EXPECT_EQ(verified.data()["passed"], true) << verified.body;

  // One release: nothing to roll back to.
  auto rollback = post("/api/v1/environments/dev/rollback", "deployer", "{}");
  EXPECT_EQ(rollback.status, 409) << rollback.body;
  EXPECT_EQ(post("/api/v1/environments/dev/rollback", "deployer", R"({"revision": -1})").status,
            400);
}

}  // namespace
}  // namespace ztp
