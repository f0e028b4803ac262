// The local platform end to end: `ztp deploy` of the sample application on real nginx replicas
// behind `ztp proxy`, each under its own `ztp supervise`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/front_door_load.hpp"
#include "support/sample_app.hpp"
#include "support/support.hpp"

namespace ztp {
namespace {

using testing::FrontDoorLoad;
using testing::http_get;
using testing::replace_in;
using testing::run_ztp;

// Records which version each 200 answer of a FrontDoorLoad came from ("v1" or "v2"), in the
// order seen, a run of answers from the same version once.
FrontDoorLoad::Observe record_versions(std::vector<std::string>& versions) {
  return [&versions](const testing::HttpResponse& r) {
    if (r.status != 200) {
      return;
    }
    std::string v = r.body.find("Version 2") != std::string::npos ? "v2" : "v1";
    if (versions.empty() || versions.back() != v) {
      versions.push_back(v);
    }
  };
}

class LocalDeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    testing::copy_sample_app(app());
    port = testing::free_port();
    testing::write_text(app() / "ztp.yaml",
                        testing::sample_app_yaml({.port = port, .replicas = 3}));
    env = {"ZTP_HOME=" + home().string()};
  }

  void TearDown() override {
    if (std::filesystem::exists(app() / "ztp.yaml")) {
      run_ztp({"-f", (app() / "ztp.yaml").string(), "down"}, env);
    }
  }

  std::filesystem::path app() const { return dir / "app"; }
  std::filesystem::path home() const { return dir / "home"; }

  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", (app() / "ztp.yaml").string()});
    return run_ztp(args, env);
  }

  nlohmann::json status() {
    auto r = ztp({"-o", "json", "status", "dev"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)["environments"][0];
  }

  nlohmann::json replica_status(const std::string& id) {
    return nlohmann::json::parse(testing::read_text(home() / "envs" / "dev" / id / "status.json"));
  }

  testing::TempDir dir;
  int port = 0;
  std::vector<std::string> env;
};

TEST_F(LocalDeployTest, DeploysThreeHealthyReplicasBehindTheFrontDoor) {
  auto r = ztp({"deploy", "dev", "--dir", app().string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto page = http_get(port, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("AWS ECS Demo"), std::string::npos);
  auto s = status();
  EXPECT_EQ(s["healthy_replicas"], 3) << s.dump(2);
  ASSERT_EQ(s["sets"].size(), 1u);
  EXPECT_EQ(s["sets"][0]["weight"], 100);
  EXPECT_EQ(s["release"]["revision"], 1);
}

// The argv of process `pid`.
std::vector<std::string> cmdline(int pid) {
  std::string raw = testing::read_text("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> out;
  for (size_t at = 0; at < raw.size();) {
    size_t end = raw.find('\0', at);
    out.push_back(raw.substr(at, end - at));
    at = end == std::string::npos ? raw.size() : end + 1;
  }
  return out;
}

TEST_F(LocalDeployTest, SupervisorsAndTheProxyRunAsTheZtpBinaryByItsRealPath) {
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", app().string()}).exit_code, 0);
  auto real = std::filesystem::canonical(testing::ztp_binary()).string();
  std::vector<int> pids;
  auto env = status();
  for (const auto& set : env["sets"]) {
    for (const auto& r : set["replicas"]) {
      pids.push_back(replica_status(r["id"])["supervisor_pid"]);
    }
  }
  ASSERT_EQ(pids.size(), 3u);
  auto proxy =
      nlohmann::json::parse(testing::read_text(home() / "proxy" / "supervisor" / "status.json"));
  pids.push_back(proxy["supervisor_pid"]);
  pids.push_back(proxy["pid"]);  // the proxy itself, started by its supervisor
  for (int pid : pids) {
    auto argv = cmdline(pid);
    ASSERT_GE(argv.size(), 2u) << pid;
    EXPECT_EQ(argv[0], real) << "pid " << pid << ": ps and pgrep must see the ztp binary";
    EXPECT_EQ(testing::read_text("/proc/" + std::to_string(pid) + "/comm"),
              std::filesystem::path(real).filename().string().substr(0, 15) + "\n")
        << pid;
  }
}

TEST_F(LocalDeployTest, UpgradeUnderLoadLosesNoRequestAndSwitchesContent) {
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", app().string()}).exit_code, 0);
  replace_in(app() / "src" / "index.html", "AWS ECS Demo", "AWS ECS Demo Version 2");
  std::vector<std::string> versions;
  FrontDoorLoad load(port, 200000, 1, record_versions(versions));
  auto r = ztp({"deploy", "dev", "--dir", app().string()});
  // Keep the load on a little after the switch so the last old replica's drain is covered.
  testing::wait_until([&] { return load.requests() > 0; });
  load.stop();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GT(load.requests(), 50);
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  // Both versions serve side by side while the rollout moves weight; it starts on v1, ends on
  // v2, and once the deploy returned only v2 answers.
  ASSERT_FALSE(versions.empty());
  EXPECT_EQ(versions.front(), "v1");
  EXPECT_EQ(versions.back(), "v2");
  for (int i = 0; i < 20; ++i) {
    EXPECT_NE(http_get(port, "/").body.find("Version 2"), std::string::npos);
  }
  auto s = status();
  EXPECT_EQ(s["release"]["revision"], 2);
  ASSERT_EQ(s["sets"].size(), 1u);
  EXPECT_EQ(s["sets"][0]["release"], "2");
}

TEST_F(LocalDeployTest, KilledReplicaIsRestartedAndGetsNoTrafficWhileDown) {
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", app().string()}).exit_code, 0);
  std::string id = status()["sets"][0]["replicas"][0]["id"];
  auto before = replica_status(id);
  int pid = before["pid"];
  FrontDoorLoad load(port, 100000);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(testing::wait_until(
      [&] {
        auto now = replica_status(id);
        return now["restarts"].get<int>() >= 1 && now["pid"].get<int>() != pid &&
               now["state"] == "running";
      },
      std::chrono::seconds(15)));
  ASSERT_TRUE(testing::wait_until([&] { return status()["healthy_replicas"] == 3; },
                                  std::chrono::seconds(15)));
  load.stop();
  EXPECT_GT(load.requests(), 10);
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
}

TEST_F(LocalDeployTest, KilledProxyComesBackWithTheSameRoutes) {
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", app().string()}).exit_code, 0);
  auto routes_before = nlohmann::json::parse(testing::read_text(home() / "proxy" / "routes.json"));
  auto proxy =
      nlohmann::json::parse(testing::read_text(home() / "proxy" / "supervisor" / "status.json"));
  int pid = proxy["pid"];
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(testing::wait_until(
      [&] {
        auto now = nlohmann::json::parse(
            testing::read_text(home() / "proxy" / "supervisor" / "status.json"));
        return now["pid"].get<int>() != pid && http_get(port, "/").status == 200;
      },
      std::chrono::seconds(20)));
  EXPECT_NE(http_get(port, "/").body.find("AWS ECS Demo"), std::string::npos);
  auto routes_after = nlohmann::json::parse(testing::read_text(home() / "proxy" / "routes.json"));
  EXPECT_EQ(routes_before, routes_after);
  EXPECT_EQ(status()["sets"][0]["weight"], 100);
}

TEST_F(LocalDeployTest, ReleaseThatNeverGetsHealthyIsRolledBackWithExit12) {
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", app().string()}).exit_code, 0);
  replace_in(app() / "conf" / "site.conf", "return 200", "return 500");
  replace_in(app() / "src" / "index.html", "AWS ECS Demo", "AWS ECS Demo Version 2");
  std::vector<std::string> versions;
  FrontDoorLoad load(port, 100000, 1, record_versions(versions));
  auto r = ztp({"deploy", "dev", "--dir", app().string()});
  load.stop();
  EXPECT_EQ(r.exit_code, 12) << r.out << r.err;
  EXPECT_NE(r.err.find("did not become healthy"), std::string::npos) << r.err;
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
  EXPECT_EQ(versions, (std::vector<std::string>{"v1"}));
  auto s = status();
  EXPECT_EQ(s["release"]["revision"], 1);
  ASSERT_EQ(s["sets"].size(), 1u);
  EXPECT_EQ(s["sets"][0]["release"], "1");
  EXPECT_EQ(s["healthy_replicas"], 3);
}

TEST_F(LocalDeployTest, DeployWaitsForTheEnvironmentLockOrFailsWithNoWait) {
  // Another rollout holds dev: the lock is an flock on home/locks/dev.lock.
  std::filesystem::create_directories(home() / "locks");
  testing::write_text(home() / "locks" / "dev.lock", "ztp deploy dev (pid 1)\n");
  // O_CLOEXEC: the ztp children of this test must not inherit (and so keep) the lock.
  int fd = ::open((home() / "locks" / "dev.lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  auto refused = ztp({"deploy", "dev", "--no-wait", "--dir", app().string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("environment dev is locked by ztp deploy dev (pid 1)"),
            std::string::npos)
      << refused.err;
  EXPECT_FALSE(std::filesystem::exists(home() / "envs" / "dev"));

  testing::ProcessResult waited;
  std::thread second([&] { waited = ztp({"deploy", "dev", "--dir", app().string()}); });
  // It says it waits, and goes on once the holder is gone.
  // A blocked flock shows in /proc/locks as a "->" line.
  ASSERT_TRUE(testing::wait_until(
      [&] { return testing::read_text("/proc/locks").find("-> FLOCK") != std::string::npos; },
      std::chrono::seconds(20)));
  ::close(fd);
  second.join();
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_NE(waited.err.find("waiting for it to finish"), std::string::npos) << waited.err;
}

}  // namespace
}  // namespace ztp
