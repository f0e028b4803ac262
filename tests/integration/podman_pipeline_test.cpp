// The whole pipeline with `target: podman` in every environment: the sample application built
// from its Dockerfile on the offline nginx base (an OCI layout), dev rolled, qa blue-green, prod
// canary, each replica a container run by rootful podman behind ztp's front door. Then a second
// commit under load, drift found and repaired, and logs.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "support/front_door_load.hpp"
#include "support/nginx_base.hpp"
#include "support/sample_app.hpp"
#include "support/support.hpp"
#include "sys/crypto.hpp"
#include "target/local/process.hpp"
#include "target/local/replica_status.hpp"

namespace ztp {
namespace {

using nlohmann::json;
using testing::http_get;
using testing::run_process;
using testing::run_ztp;

class PodmanPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("git", "git");
    REQUIRE_TOOL("podman", "podman runc");
    REQUIRE_TOOL("nginx", "nginx-light");
    base = testing::make_nginx_base(dir.path());
    ASSERT_TRUE(base.error.empty()) << base.error;
    testing::copy_sample_app(app());
    for (auto& p : ports) {
      p = testing::free_port();
    }
    home_label =
        sys::sha256_hex(std::filesystem::absolute(dir / "home").lexically_normal().string())
            .substr(0, 8);
    env = {"ZTP_HOME=" + (dir / "home").string(), "GIT_AUTHOR_NAME=Test",
           "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=Test",
           "GIT_COMMITTER_EMAIL=t@example.com"};
  }

  void TearDown() override {
    if (std::filesystem::exists(app() / "ztp.yaml")) {
      ztp({"down"});
    }
    // Whatever a failed test left: the containers of this ztp home.
    auto left = containers("");
    for (const auto& c : left) {
      run_process({"podman", "rm", "--force", "--ignore", "--time", "0", c["Names"][0]});
    }
  }

  std::filesystem::path app() const { return dir / "app"; }

  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", (app() / "ztp.yaml").string()});
    return run_ztp(args, env, app());
  }

  // The containers of this test's ztp home (of environment `env_name` when given), as
  // `podman ps --format json` lists them.
  json containers(const std::string& env_name) {
    auto home = run_process(
        {"podman", "ps", "--all", "--format", "json", "--filter", "label=ztp.app=sample-site"});
    json out = json::array();
    auto all = json::parse(home.out, nullptr, false);
    if (!all.is_array()) {
      return out;
    }
    for (const auto& c : all) {
      const auto& labels = c.value("Labels", json::object());
      if (labels.value("ztp.home", "") != home_label) {
        continue;
      }
      if (env_name.empty() || labels.value("ztp.env", "") == env_name) {
        out.push_back(c);
      }
    }
    return out;
  }

  void write_spec() {
    int range = testing::replica_port_range_start(ports[0]);
    testing::write_text(app() / "ztp.yaml", R"(app: sample-site
source: {repo: ., branch: main}
build:
  dockerfile: Dockerfile
  exclude: ["*.md"]
  args: {BASE: ")" + base.ref + R"("}
service:
  port: 80
  port_range: )" + std::to_string(range) + "-" + std::to_string(range + 200) +
                                                R"(
  health: {path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 2}
  start_timeout: 60s
  stop_timeout: 5s
  drain_timeout: 2s
checks:
  smoke:
    - name: about page
      path: /about.html
      expect: {status: 200, body_contains: "About Our Application"}
environments:
  - name: dev
    target: podman
    listen: 127.0.0.1:)" + std::to_string(ports[0]) +
                                                R"(
    replicas: 2
    strategy: {rolling: {max_surge: 1, max_unavailable: 0}}
    verify: [smoke]
  - name: qa
    target: podman
    listen: 127.0.0.1:)" + std::to_string(ports[1]) +
                                                R"(
    replicas: 2
    strategy: {blue_green: {preview_listen: 127.0.0.1:)" +
                                                std::to_string(ports[3]) + R"(, keep_previous: 1m}}
    verify: [smoke, security_headers]
    resources: {cpus: 0.5, memory: 128Mi}
  - name: prod
    target: podman
    listen: 127.0.0.1:)" + std::to_string(ports[2]) +
                                                R"(
    replicas: 2
    strategy:
      canary:
        steps: [{weight: 50, pause: 2s}]
        analysis: {max_error_rate: 0.01, min_requests: 10, deadline: 30s, inconclusive: fail}
    verify: [smoke]
)");
  }

  void git(const std::vector<std::string>& args) { testing::git_in(app(), args, env); }

  void commit(const std::string& message) { testing::commit_all(app(), message, env); }

  testing::TempDir dir;
  testing::NginxBase base;
  std::array<int, 4> ports{};
  std::vector<std::string> env;
  std::string home_label;  // the ztp.home label of this test's containers
};

TEST_F(PodmanPipelineTest, ACommitGoesThroughEveryEnvironmentAsContainers) {
  write_spec();
  git({"init", "-q", "-b", "main"});
  commit("the sample application");
  auto first = ztp({"run"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  // The build stage names the base it resolved, as the run records it.
  EXPECT_NE((first.out + first.err).find(" over " + base.ref + " (sha256:"), std::string::npos)
      << first.out << first.err;
  for (int port : {ports[0], ports[1], ports[2]}) {
    auto page = http_get(port, "/");
    EXPECT_EQ(page.status, 200) << port;
    EXPECT_NE(page.body.find("AWS ECS Demo"), std::string::npos) << port;
    EXPECT_EQ(page.header("x-content-type-options"), "nosniff") << port;
  }
  // Each replica is a container labelled with its app, environment, release and digest.
  auto prod = containers("prod");
  ASSERT_EQ(prod.size(), 2u) << prod.dump();
  for (const auto& c : prod) {
    EXPECT_EQ(c["Labels"]["ztp.release"], "1");
    EXPECT_EQ(c["Labels"]["ztp.digest"].get<std::string>().rfind("sha256:", 0), 0u);
    EXPECT_EQ(c["State"], "running");
  }
  // qa's resources reach podman.
  auto qa = containers("qa");
  ASSERT_FALSE(qa.empty());
  auto inspect = run_process({"podman", "inspect", qa[0]["Names"][0].get<std::string>(), "--format",
                              "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}"});
  EXPECT_EQ(inspect.out.substr(0, inspect.out.find('\n')), "134217728 500000000") << inspect.err;

  // A second commit rolls through every environment while dev and prod serve load: no request
  // fails, and prod's canary is judged on that traffic.
  testing::replace_in(app() / "src" / "index.html", "AWS ECS Demo", "AWS ECS Demo Version 2");
  commit("say version 2");
  {
    testing::FrontDoorLoad dev_load(ports[0], 1'000'000, 2);
    testing::FrontDoorLoad prod_load(ports[2], 1'000'000, 2);
    auto second = ztp({"run"});
    dev_load.stop();
    prod_load.stop();
    ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
    EXPECT_EQ(dev_load.failures(), 0) << dev_load.first_failure();
    EXPECT_EQ(prod_load.failures(), 0) << prod_load.first_failure();
    EXPECT_GT(prod_load.requests(), 10);
  }
  for (int port : {ports[0], ports[1], ports[2]}) {
    EXPECT_NE(http_get(port, "/").body.find("Version 2"), std::string::npos) << port;
  }
  EXPECT_EQ(containers("prod").size(), 2u) << "the canary's stable set is gone";

  // The environment is in sync; a replica whose supervisor and container die is found by
  // `ztp drift` and replaced by `ztp drift --fix`.
  auto clean = ztp({"drift", "prod"});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  std::filesystem::path victim;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "home/envs/prod")) {
    if (entry.is_directory() && entry.path().filename().string().find("prod-r2-") == 0) {
      victim = entry.path();
    }
  }
  ASSERT_FALSE(victim.empty());
  auto s = target::local::read_replica_status(victim);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(::kill(s->supervisor_pid, SIGKILL), 0);
  auto name = "ztp-" + home_label + "-" + victim.filename().string();
  run_process({"podman", "rm", "--force", "--time", "0", name});
  ASSERT_TRUE(testing::wait_until(
      [&] {
        return ztp({"drift", "prod"}).exit_code == 2;
      },
      std::chrono::seconds(30)));
  auto found = ztp({"-o", "json", "drift", "prod"});
  EXPECT_NE(found.out.find("replica_down"), std::string::npos) << found.out;
  auto fixed = ztp({"drift", "prod", "--fix"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  EXPECT_EQ(ztp({"drift", "prod"}).exit_code, 0);
  EXPECT_EQ(containers("prod").size(), 2u);

  // `ztp logs` shows what the containers wrote (nginx's access log goes to stdout).
  auto logs = ztp({"logs", "prod", "-n", "50"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("GET /"), std::string::npos) << logs.out;
}

}  // namespace
}  // namespace ztp
