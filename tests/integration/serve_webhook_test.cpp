// The controller end to end on a real git repository, a real store, the real pipeline (build
// into the OCI layout store, rollouts) and a fake target: GitHub's push payload example, signed,
// starts a run that reaches prod after an approval; a replay, a bad signature, a push to another
// branch or outside source.paths start nothing; a remote repository is polled through a mirror;
// over HTTP, the webhook route takes a push as large as GitHub sends and refuses a larger one.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "server/controller.hpp"
#include "server/server.hpp"
#include "source/git_fetch.hpp"
#include "source/webhook.hpp"
#include "spec/parse.hpp"
#include "support/fake_target.hpp"
#include "support/support.hpp"
#include "sys/crypto.hpp"
#include "unit/source/git_test_repo.hpp"

namespace ztp {
namespace {

using store::RunStatus;
using Weights = std::map<std::string, int>;

constexpr const char* k_secret = "webhook test secret";

nlohmann::json push_example() {
  std::ifstream in(
      testing::vector_path("github-webhooks/payload-examples/push/with-new-branch.payload.json"));
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

// GitHub's example push, made to describe `sha` on `branch` changing `paths`.
std::string push_body(const std::string& branch, const std::string& sha,
                      const std::vector<std::string>& paths) {
  auto body = push_example();
  body["ref"] = "refs/heads/" + branch;
  body["created"] = false;
  body["after"] = sha;
  for (auto* c : {&body["commits"][0], &body["head_commit"]}) {
    (*c)["id"] = sha;
    (*c)["message"] = "change the site";
    (*c)["added"] = nlohmann::json::array();
    (*c)["modified"] = paths;
  }
  return body.dump();
}

server::Request webhook(const std::string& delivery, const std::string& body,
                        const std::string& secret = k_secret) {
  server::Request req;
  req.method = "POST";
  req.path = req.target = "/hooks/github";
  req.body = body;
  req.headers = {{"x-github-event", "push"},
                 {"x-github-delivery", delivery},
                 {"x-hub-signature-256", "sha256=" + sys::hmac_sha256_hex(secret, body)}};
  return req;
}

struct Reply {
  int status = -1;
  std::string body;
};

// POSTs `body` over loopback, reading while it sends (as GitHub's sender and curl do) so that an
// answer given before the whole body is sent (413) is seen. Bounded by `timeout`.
Reply post(int port, const std::string& path,
           const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
           std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Reply reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return reply;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string out = fmt::format(
      "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
      "Content-Type: application/json\r\nContent-Length: {}\r\n",
      path, body.size());
  for (const auto& [name, value] : headers) {
    out += name + ": " + value + "\r\n";
  }
  out += "\r\n" + body;
  size_t sent = 0;
  std::string in;
  bool open = true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (open && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, static_cast<short>(POLLIN | (sent < out.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 100) <= 0) {
      continue;
    }
    if ((p.revents & POLLIN) != 0) {
      char buf[16384];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        in.append(buf, static_cast<size_t>(n));
        sent = out.size();  // answered: stop sending
      } else if (n == 0 || errno != EAGAIN) {
        open = false;
      }
    } else if ((p.revents & POLLOUT) != 0) {
      auto n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (errno != EAGAIN) {
        sent = out.size();
      }
    } else if ((p.revents & (POLLERR | POLLHUP)) != 0) {
      open = false;
    }
  }
  ::close(fd);
  if (in.starts_with("HTTP/1.1 ") && in.size() > 12) {
    reply.status = std::stoi(in.substr(9, 3));
  }
  if (auto head_end = in.find("\r\n\r\n"); head_end != std::string::npos) {
    reply.body = in.substr(head_end + 4);
  }
  return reply;
}

std::vector<std::pair<std::string, std::string>> signed_headers(const std::string& delivery,
                                                                const std::string& body) {
  return {{"X-GitHub-Event", "push"},
          {"X-GitHub-Delivery", delivery},
          {"X-Hub-Signature-256", "sha256=" + sys::hmac_sha256_hex(k_secret, body)}};
}

class ServeWebhookTest : public source::test::GitRepoFixture {
 protected:
  void SetUp() override {
    GitRepoFixture::SetUp();
    ::unsetenv(source::k_webhook_secret_env);
    repo().write("site/index.html", "v1\n");
    repo().write("README.md", "notes\n");
    first = repo().commit("first");
  }

  // Loads a spec of two environments (prod behind an approval) watching `source_repo`.
  void load(const std::string& source_repo, const std::string& spec_dir) {
    std::filesystem::path file = std::filesystem::path(spec_dir) / "ztp.yaml";
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << "app: site\n"
                        << "source: {repo: \"" << source_repo
                        << "\", branch: main, paths: [\"site/**\"], poll_interval: 100ms, "
                           "webhook_secret: \""
                        << k_secret << "\", github_repository: codertocat/hello-world}\n"
                        << R"(build: {command: ["serve"]}
service: {start_timeout: 3s}
environments:
  - {name: dev, listen: "127.0.0.1:18081", replicas: 1}
  - {name: prod, listen: "127.0.0.1:18083", replicas: 1, gate: approval}
)";
    auto spec = spec::load_spec(file);
    ASSERT_TRUE(spec.ok()) << spec.error().message;
    ws.spec = std::move(*spec);
    ws.home = dir() / "home";
    auto store = store::SqliteStore::open(ws.home / "state.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    ws.store = std::move(*store);
  }

  server::Controller::Options options(bool poll) {
    server::Controller::Options o;
    o.workspace = &ws;
    o.poll = poll;
    o.approval_poll = std::chrono::milliseconds(50);
    o.run_clock = &clock;
    o.target_for = [this](const std::string&) -> Result<target::Target*> { return &target; };
    return o;
  }

  store::Run run(int64_t id) {
    auto r = ws.store->get_run(id);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : store::Run{};
  }

  bool wait_status(int64_t id, RunStatus status) {
    return testing::wait_until([&] { return run(id).status == status; }, std::chrono::seconds(60));
  }

  size_t run_count() {
    store::RunFilter all;
    all.limit = 0;
    return ws.store->list_runs(all)->size();
  }

  std::string first;
  engine::Workspace ws;
  testing::FakeClock clock;
  testing::FakeTarget target{clock};
};

TEST_F(ServeWebhookTest, ASignedPushRunsThePipelineAndAReplayDoesNot) {
  load(".", repo().path().string());
  server::Controller ctl(options(false));
  ctl.start();

  repo().write("site/index.html", "v2\n");
  std::string sha = repo().commit("change the site");
  std::string body = push_body("main", sha, {"site/index.html"});

  auto bad = ctl.handle_github_webhook(webhook("d-bad", body, "not the secret"));
  EXPECT_EQ(bad.status, 401) << bad.body;
  EXPECT_EQ(run_count(), 0u);

  auto res = ctl.handle_github_webhook(webhook("d-1", body));
  ASSERT_EQ(res.status, 202) << res.body;
  int64_t id = nlohmann::json::parse(res.body)["run"];
  EXPECT_EQ(run(id).commit_sha, sha);
  EXPECT_EQ(run(id).trigger, store::Trigger::webhook);

  ASSERT_TRUE(wait_status(id, RunStatus::awaiting_approval)) << run(id).reason;
  EXPECT_EQ(target.weights("dev"), (Weights{{"1", 100}}));
  EXPECT_EQ(target.weights("prod"), Weights{});

  auto replay = ctl.handle_github_webhook(webhook("d-1", body));
  EXPECT_EQ(replay.status, 200);
  EXPECT_NE(replay.body.find("duplicate delivery"), std::string::npos);
  auto other_branch =
      ctl.handle_github_webhook(webhook("d-2", push_body("feature", sha, {"site/index.html"})));
  EXPECT_EQ(other_branch.status, 202);
  EXPECT_NE(other_branch.body.find("ignored"), std::string::npos);
  repo().write("README.md", "more notes\n");
  std::string docs = repo().commit("docs");
  auto outside = ctl.handle_github_webhook(webhook("d-3", push_body("main", docs, {"README.md"})));
  EXPECT_EQ(outside.status, 202);
  EXPECT_NE(outside.body.find("no changed path matches site/**"), std::string::npos)
      << outside.body;
  EXPECT_EQ(run_count(), 1u);

  // The API approves in the store; the controller continues the run.
  ASSERT_TRUE(ws.store->decide_approval(id, store::ApprovalStatus::approved, "alice").ok());
  ctl.resume(id);
  ASSERT_TRUE(wait_status(id, RunStatus::succeeded)) << run(id).reason;
  EXPECT_EQ(target.weights("prod"), (Weights{{"1", 100}}));
  auto lkg = ws.store->get_last_known_good("prod");
  ASSERT_TRUE(lkg.ok() && lkg->has_value());
  EXPECT_EQ((*lkg)->digest, run(id).digest);

  auto deliveries = ws.store->list_webhook_deliveries();
  ASSERT_TRUE(deliveries.ok());
  EXPECT_EQ(deliveries->size(), 3u);  // the bad signature is not recorded
}

TEST_F(ServeWebhookTest, TheWebhookRouteTakesGitHubsLargestPayloadsAndNoMore) {
  load(".", repo().path().string());
  server::Controller ctl(options(false));
  server::Server::Options so;
  so.http.listen = "127.0.0.1:0";
  so.api.workspace = &ws;
  so.github_webhook = [&ctl](const server::Request& req) { return ctl.handle_github_webhook(req); };
  auto srv = server::Server::start(std::move(so));
  ASSERT_TRUE(srv.ok()) << srv.error().message;
  int port = (*srv)->port();

  // A push touching many files, as a large merge makes: several MB, over the 1 MiB of the API.
  repo().write("site/index.html", "v2\n");
  std::string sha = repo().commit("change the site");
  std::vector<std::string> paths;
  for (int i = 0; i < 80000; ++i) {
    paths.push_back(fmt::format("site/assets/generated/{:06}/picture-of-the-gallery.png", i));
  }
  std::string body = push_body("main", sha, paths);
  ASSERT_GT(body.size(), 5u << 20);
  ASSERT_LT(body.size(), 20u << 20);
  auto large = post(port, "/hooks/github", signed_headers("d-large", body), body);
  ASSERT_EQ(large.status, 202) << large.body.substr(0, 500);
  auto queued = nlohmann::json::parse(large.body);
  EXPECT_EQ(queued["status"], "queued");
  EXPECT_EQ(run(queued["run"].get<int64_t>()).commit_sha, sha);

  // Over GitHub's cap: refused before any of it reaches the controller.
  std::string too_large(server::k_github_webhook_max_body + 1, ' ');
  auto refused = post(port, "/hooks/github", signed_headers("d-huge", too_large), too_large);
  EXPECT_EQ(refused.status, 413) << refused.body;
  EXPECT_NE(refused.body.find("larger than 26214400 bytes"), std::string::npos) << refused.body;
  // Every other route keeps the small limit.
  auto api = post(port, "/api/v1/runs", {}, std::string(2u << 20, ' '));
  EXPECT_EQ(api.status, 413) << api.body;
  EXPECT_NE(api.body.find("larger than 1048576 bytes"), std::string::npos) << api.body;

  EXPECT_EQ(run_count(), 1u);
  EXPECT_EQ(ws.store->list_webhook_deliveries()->size(), 1u);
  (*srv)->stop();
}

TEST_F(ServeWebhookTest, ARemoteRepositoryIsPolledThroughItsMirror) {
  std::string url = "file://" + repo().path().string();
  load(url, (dir() / "config").string());
  server::Controller ctl(options(true));
  ctl.start();

  // The first poll fetches the remote and runs its tip.
  ASSERT_TRUE(testing::wait_until([&] { return run_count() == 1; }, std::chrono::seconds(30)));
  store::RunFilter all;
  auto runs = ws.store->list_runs(all);
  int64_t first_run = (*runs)[0].id;
  EXPECT_EQ((*runs)[0].commit_sha, first);
  EXPECT_EQ((*runs)[0].trigger, store::Trigger::poll);
  ASSERT_TRUE(wait_status(first_run, RunStatus::awaiting_approval)) << run(first_run).reason;
  EXPECT_TRUE(std::filesystem::exists(source::mirror_path(ws.home, url) / "HEAD"));

  // A change outside source.paths starts nothing; one inside does, superseding the parked run.
  repo().write("README.md", "notes 2\n");
  repo().commit("docs");
  repo().write("site/index.html", "v3\n");
  std::string third = repo().commit("v3");
  ASSERT_TRUE(testing::wait_until([&] { return run_count() == 2; }, std::chrono::seconds(30)));
  runs = ws.store->list_runs(all);
  int64_t second_run = (*runs)[0].id;
  EXPECT_EQ((*runs)[0].commit_sha, third);
  ASSERT_TRUE(wait_status(second_run, RunStatus::awaiting_approval)) << run(second_run).reason;
  EXPECT_EQ(run(first_run).status, RunStatus::cancelled);
  EXPECT_EQ(target.weights("dev"), (Weights{{"2", 100}}));
  ctl.stop();
  EXPECT_EQ(run_count(), 2u);
}

}  // namespace
}  // namespace ztp
