// Incident tools end to end on real nginx replicas of the sample application behind `ztp
// proxy`: isolate (the front door answers its maintenance page while the replicas stay up, also
// across a restart of the proxy), evidence (the bundle unpacks with tar and holds each part),
// report (the run's events), restore (traffic is back).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/sample_app.hpp"
#include "support/support.hpp"

namespace ztp {
namespace {

using nlohmann::json;
using testing::http_get;
using testing::run_process;
using testing::run_ztp;

bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

class IncidentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    REQUIRE_TOOL("git", "git");
    REQUIRE_TOOL("tar", "tar");
    testing::copy_sample_app(repo());
    port = testing::free_port();
    testing::write_text(repo() / "ztp.yaml",
                        testing::sample_app_yaml({.port = port,
                                                  .source = "{repo: ., branch: main}",
                                                  .exclude = R"(["*.md"])",
                                                  .drain_timeout = "2s"}));
    env = {"ZTP_HOME=" + home().string(), "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=t@example.com",
           "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=t@example.com"};
    for (auto args : std::vector<std::vector<std::string>>{
             {"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "the app"}}) {
      args.insert(args.begin(), {"git", "-C", repo().string()});
      auto r = run_process(args, env);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }

  void TearDown() override {
    if (std::filesystem::exists(repo() / "ztp.yaml")) {
      run_ztp({"-f", (repo() / "ztp.yaml").string(), "down"}, env);
    }
  }

  std::filesystem::path repo() const { return dir / "app"; }
  std::filesystem::path home() const { return dir / "home"; }

  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", (repo() / "ztp.yaml").string()});
    return run_ztp(args, env, repo());
  }

  // The status.json of every replica of dev.
  std::vector<json> replicas() {
    std::vector<json> out;
    for (const auto& e : std::filesystem::directory_iterator(home() / "envs" / "dev")) {
      if (std::filesystem::exists(e.path() / "status.json")) {
        out.push_back(json::parse(testing::read_text(e.path() / "status.json")));
      }
    }
    return out;
  }

  testing::TempDir dir;
  int port = 0;
  std::vector<std::string> env;
};

TEST_F(IncidentTest, IsolateCollectEvidenceReportAndRestore) {
  auto ran = ztp({"run"});
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
  ASSERT_EQ(http_get(port, "/").status, 200);
  auto before = replicas();
  ASSERT_EQ(before.size(), 2u);

  auto isolated = ztp({"isolate", "dev", "--reason", "suspected credential leak", "--message",
                       "Back soon <3", "--retry-after", "120"});
  ASSERT_EQ(isolated.exit_code, 0) << isolated.out << isolated.err;
  for (int i = 0; i < 5; ++i) {
    auto page = http_get(port, "/about.html");
    EXPECT_EQ(page.status, 503);
    EXPECT_EQ(page.header("retry-after"), "120");
    EXPECT_NE(page.body.find("Back soon &lt;3"), std::string::npos) << page.body;
    EXPECT_EQ(page.body.find("credential"), std::string::npos);  // the reason stays private
  }
  // The replicas keep running and still answer on their own ports.
  for (const auto& r : replicas()) {
    EXPECT_TRUE(alive(r["pid"].get<int>())) << r.dump();
    EXPECT_EQ(r["state"], "running");
    EXPECT_EQ(http_get(r["port"].get<int>(), "/").status, 200);
  }

  // The page survives a restart of the proxy (its supervisor brings it back from routes.json).
  auto proxy_status = [&] {
    return json::parse(testing::read_text(home() / "proxy" / "supervisor" / "status.json"));
  };
  int proxy_pid = proxy_status()["pid"];
  ASSERT_EQ(::kill(proxy_pid, SIGKILL), 0);
  ASSERT_TRUE(testing::wait_until(
      [&] {
        auto s = proxy_status();
        return s["pid"].get<int>() != proxy_pid && s["state"] == "running" &&
               http_get(port, "/").status != -1;
      },
      std::chrono::seconds(20)));
  auto after_restart = http_get(port, "/");
  EXPECT_EQ(after_restart.status, 503);
  EXPECT_EQ(after_restart.header("retry-after"), "120");

  // Access-log lines are written by a timer: wait for the 503s of the proxy that runs now (a
  // killed one loses what it had not written yet).
  auto log_503 = std::string("\"path\":\"/about.html\",\"status\":503");
  ASSERT_TRUE(testing::wait_until([&] {
    http_get(port, "/about.html");
    return testing::read_text(home() / "proxy" / "access-dev.log").find(log_503) !=
           std::string::npos;
  }));

  // Evidence: the bundle unpacks with tar and holds each part.
  auto bundle = dir / "evidence.tar.gz";
  auto ev = ztp({"evidence", "dev", "--minutes", "10", "--to", bundle.string()});
  ASSERT_EQ(ev.exit_code, 0) << ev.out << ev.err;
  auto unpacked = dir / "unpacked";
  std::filesystem::create_directories(unpacked);
  auto tar = run_process({"tar", "-xzf", bundle.string(), "-C", unpacked.string()});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  std::filesystem::path root;
  for (const auto& e : std::filesystem::directory_iterator(unpacked)) {
    root = e.path();
  }
  ASSERT_EQ(root.filename().string().rfind("evidence-dev-", 0), 0u) << root;
  for (std::string part :
       {"README.md", "spec/ztp.yaml", "store/runs.json", "store/events.json", "store/releases.json",
        "store/audit.json", "store/holds.json", "releases/1/manifest.json",
        "releases/1/config.json", "replicas/observed.json", "proxy/routes.json", "proxy/access.log",
        "drift/report.json", "drift/report.md"}) {
    EXPECT_TRUE(std::filesystem::exists(root / part)) << part << "\n"
                                                      << testing::read_text(root / "README.md");
  }
  for (const auto& e : std::filesystem::directory_iterator(home() / "envs" / "dev")) {
    auto id = e.path().filename();
    EXPECT_TRUE(std::filesystem::exists(root / "replicas" / id / "status.json")) << id;
    EXPECT_TRUE(std::filesystem::exists(root / "replicas" / id / "stderr.log")) << id;
  }
  auto runs = json::parse(testing::read_text(root / "store/runs.json"));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_FALSE(runs[0]["events"].empty());
  EXPECT_EQ(json::parse(testing::read_text(root / "store/holds.json"))["isolation"]["reason"],
            "suspected credential leak");
  EXPECT_NE(testing::read_text(root / "proxy/access.log").find(log_503), std::string::npos);
  auto manifest = json::parse(testing::read_text(root / "releases/1/manifest.json"));
  EXPECT_EQ(manifest["schemaVersion"], 2);
  auto drift = json::parse(testing::read_text(root / "drift/report.json"));
  EXPECT_EQ(drift["env"], "dev");

  // The run's report names its events.
  int64_t run_id = runs[0]["id"];
  auto rep = ztp({"report", std::to_string(run_id)});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("# Post-incident report: run " + std::to_string(run_id)),
            std::string::npos);
  for (const auto& e : runs[0]["events"]) {
    EXPECT_NE(rep.out.find("`" + e["kind"].get<std::string>() + "`"), std::string::npos)
        << e.dump();
  }
  auto rep_json = ztp({"-o", "json", "report", std::to_string(run_id)});
  ASSERT_EQ(rep_json.exit_code, 0) << rep_json.err;
  EXPECT_EQ(json::parse(rep_json.out)["timeline"].size(), runs[0]["events"].size());

  // Restore: traffic is back, and the environment's report has both actions.
  auto restored = ztp({"restore", "dev"});
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err;
  ASSERT_TRUE(testing::wait_until([&] { return http_get(port, "/").status == 200; }));
  EXPECT_NE(http_get(port, "/").body.find("AWS ECS Demo"), std::string::npos);
  EXPECT_TRUE(http_get(port, "/").header("retry-after").empty());
  auto again = ztp({"restore", "dev"});
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("not isolated"), std::string::npos) << again.err;

  auto out = dir / "report.md";
  auto env_rep = ztp({"report", "dev", "--to", out.string()});
  ASSERT_EQ(env_rep.exit_code, 0) << env_rep.err;
  auto md = testing::read_text(out);
  EXPECT_NE(md.find("`env.isolated`"), std::string::npos) << md;
  EXPECT_NE(md.find("`env.restored`"), std::string::npos) << md;
  EXPECT_NE(md.find("| cli | isolate | env dev | suspected credential leak |"), std::string::npos)
      << md;
}

TEST_F(IncidentTest, NothingDeployedCannotBeIsolated) {
  auto r = ztp({"isolate", "dev"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("deploy it before isolating it"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ztp
