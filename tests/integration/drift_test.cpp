// Drift made by hand on the local platform (the sample application on real nginx behind ztp
// proxy): each kind is found by `ztp drift` alone with exit 2, `ztp drift --fix` repairs it
// while a loopback load loop sees no failed request, and a second check exits 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "proxy/admin_client.hpp"
#include "store/sqlite_store.hpp"
#include "support/front_door_load.hpp"
#include "support/sample_app.hpp"
#include "support/support.hpp"
#include "target/local/replica_status.hpp"

namespace ztp {
namespace {

using testing::FrontDoorLoad;
using testing::http_get;
using testing::run_ztp;

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class DriftTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    testing::copy_sample_app(app());
    port = testing::free_port();
    testing::write_text(spec_file(), testing::sample_app_yaml({.port = port}));
    env = {"ZTP_HOME=" + home().string()};
    auto deployed = ztp({"deploy", "dev", "--dir", app().string()});
    ASSERT_EQ(deployed.exit_code, 0) << deployed.out << deployed.err;
    auto first = ztp({"drift", "dev"});
    ASSERT_EQ(first.exit_code, 0) << "a fresh deploy is not in sync:\n" << first.out << first.err;
  }

  void TearDown() override { ztp({"down"}); }

  std::filesystem::path app() const { return dir / "app"; }
  std::filesystem::path home() const { return dir / "home"; }
  std::filesystem::path spec_file() const { return dir / "ztp.yaml"; }

  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", spec_file().string()});
    return run_ztp(args, env);
  }

  // The replica directories of dev, by name.
  std::vector<std::filesystem::path> replica_dirs() const {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(home() / "envs" / "dev")) {
      out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  target::local::ReplicaStatus status_of(const std::filesystem::path& replica_dir) const {
    auto s = target::local::read_replica_status(replica_dir);
    EXPECT_TRUE(s.ok()) << replica_dir;
    return s.ok() ? *s : target::local::ReplicaStatus{};
  }

  proxy::AdminClient admin() const { return proxy::AdminClient(home() / "proxy" / "admin.sock"); }

  // Waits until the proxy reports replica `id` of dev in `state`.
  bool wait_backend(const std::string& id, const std::string& state) {
    auto client = admin();
    return testing::wait_until(
        [&] {
          auto health = client.health("dev");
          return health.ok() && std::any_of(health->begin(), health->end(), [&](const auto& b) {
                   return b.id == id && b.state == state;
                 });
        },
        std::chrono::seconds(10));
  }

  // `ztp -o json drift dev` must exit 2 and find exactly `expected` (kinds, in order).
  void expect_drift(const std::vector<std::string>& expected) {
    auto r = ztp({"-o", "json", "drift", "dev"});
    ASSERT_EQ(r.exit_code, 2) << r.out << r.err;
    auto j = nlohmann::json::parse(r.out);
    std::vector<std::string> kinds;
    for (const auto& f : j["findings"]) {
      kinds.push_back(f["kind"]);
      EXPECT_FALSE(f["fix"].get<std::string>().empty());
    }
    EXPECT_EQ(kinds, expected) << j.dump(2);
  }

  // `ztp drift dev --fix` under load: exit 0, no failed request (when `under_load`), and a
  // second check in sync.
  void expect_fixed(bool under_load = true) {
    std::unique_ptr<FrontDoorLoad> load;
    if (under_load) {
      load = std::make_unique<FrontDoorLoad>(port, 200000);
      ASSERT_TRUE(testing::wait_until([&] { return load->requests() > 10; }));
    }
    auto fixed = ztp({"drift", "dev", "--fix"});
    if (load) {
      load->stop();
      EXPECT_EQ(load->failures(), 0)
          << "of " << load->requests() << " requests; first " << load->first_failure();
    }
    EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
    auto again = ztp({"drift", "dev"});
    EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  }

  testing::TempDir dir;
  int port = 0;
  std::vector<std::string> env;
};

TEST_F(DriftTest, AKilledSupervisorIsReplaced) {
  auto victim = replica_dirs().front();
  auto s = status_of(victim);
  ASSERT_EQ(::kill(s.supervisor_pid, SIGKILL), 0);
  ASSERT_TRUE(testing::wait_until([&] {
    return !target::local::process_alive(s.pid, s.pid_start_time);
  })) << "the app did not end with its supervisor";
  ASSERT_TRUE(wait_backend(victim.filename().string(), "unhealthy"));
  expect_drift({"replica_down"});
  expect_fixed();
  EXPECT_FALSE(std::filesystem::exists(victim)) << "the dead replica was not removed";
}

TEST_F(DriftTest, AReplicaStartedByHandIsStopped) {
  auto model = replica_dirs().front();
  auto s = status_of(model);
  auto extra = home() / "envs" / "dev" / "dev-r1-9";
  int extra_port = testing::free_port();
  auto conf =
      replace_all(testing::read_text(model / "nginx.local.conf"), model.string(), extra.string());
  conf = replace_all(conf, "listen 127.0.0.1:" + std::to_string(s.port) + ";",
                     "listen 127.0.0.1:" + std::to_string(extra_port) + ";");
  testing::write_text(extra / "nginx.local.conf", conf);
  auto started = run_ztp({"supervise",
                          "--state-dir",
                          extra.string(),
                          "--workdir",
                          s.workdir,
                          "--env",
                          "dev",
                          "--release",
                          "1",
                          "--replica",
                          "9",
                          "--port",
                          std::to_string(extra_port),
                          "--",
                          "nginx",
                          "-p",
                          extra.string(),
                          "-c",
                          (extra / "nginx.local.conf").string(),
                          "-e",
                          "stderr",
                          "-g",
                          "daemon off;"});
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
  ASSERT_TRUE(testing::wait_until([&] { return http_get(extra_port, "/health").status == 200; }));

  expect_drift({"replica_extra"});
  expect_fixed();
  EXPECT_FALSE(std::filesystem::exists(extra));
  EXPECT_NE(http_get(extra_port, "/health").status, 200) << "the extra replica still serves";
}

TEST_F(DriftTest, AFileEditedInTheReleaseIsRestoredThroughFreshReplicas) {
  auto release_dir = std::filesystem::path(status_of(replica_dirs().front()).workdir);
  auto page = release_dir / "src" / "index.html";
  auto pristine = testing::read_text(page);
  ASSERT_FALSE(pristine.empty()) << page;
  testing::write_text(page, pristine + "<!-- edited by hand -->");
  ASSERT_NE(http_get(port, "/").body.find("edited by hand"), std::string::npos);

  expect_drift({"files_changed"});
  auto before = replica_dirs();
  expect_fixed();
  EXPECT_EQ(testing::read_text(page), pristine);
  EXPECT_EQ(http_get(port, "/").body.find("edited by hand"), std::string::npos);
  for (const auto& d : before) {
    EXPECT_FALSE(std::filesystem::exists(d)) << d << " was not replaced";
  }
}

TEST_F(DriftTest, AReplicaConfigEditedByHandIsRenderedAfresh) {
  auto edited = replica_dirs().back();
  auto conf = edited / "nginx.local.conf";
  testing::write_text(
      conf, replace_all(testing::read_text(conf), "worker_processes 1;", "worker_processes 2;"));
  expect_drift({"config_changed"});
  expect_fixed();
  EXPECT_FALSE(std::filesystem::exists(edited)) << "the edited replica was not replaced";
}

TEST_F(DriftTest, ARouteChangedThroughTheAdminApiIsReapplied) {
  auto client = admin();
  auto routes = client.get_env("dev");
  ASSERT_TRUE(routes.ok()) << routes.error().message;
  ASSERT_EQ(routes->release_sets.size(), 1u);
  routes->release_sets[0].weight = 40;
  routes->release_sets[0].backends.pop_back();
  ASSERT_TRUE(client.put_env(*routes).ok());

  expect_drift({"route_weight", "route_backends"});
  expect_fixed();
  auto after = client.get_env("dev");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->release_sets.at(0).weight, 100);
  EXPECT_EQ(after->release_sets.at(0).backends.size(), 2u);
}

TEST_F(DriftTest, AStoppedProxyIsStartedAgain) {
  ASSERT_TRUE(
      target::local::stop_replica(home() / "proxy" / "supervisor", std::chrono::seconds(20)).ok());
  ASSERT_NE(http_get(port, "/").status, 200);
  expect_drift({"router_down"});
  // The front door is down until the fix starts it: the load runs once it is back.
  expect_fixed(false);
  ASSERT_TRUE(testing::wait_until([&] { return http_get(port, "/").status == 200; }));
  FrontDoorLoad load(port, 2000);
  ASSERT_TRUE(testing::wait_until([&] { return load.requests() >= 200; }));
  load.stop();
  EXPECT_EQ(load.failures(), 0) << load.first_failure();
}

TEST_F(DriftTest, EveryCheckIsKeptAndDriftIsAnEvent) {
  auto md = ztp({"drift", "dev", "--output", "markdown"});
  EXPECT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("# Drift report: dev"), std::string::npos) << md.out;
  ASSERT_EQ(::kill(status_of(replica_dirs().back()).supervisor_pid, SIGKILL), 0);
  ASSERT_TRUE(testing::wait_until([&] { return ztp({"drift", "dev"}).exit_code == 2; }));

  auto store = store::SqliteStore::open(home() / "state.db");
  ASSERT_TRUE(store.ok());
  auto reports = (*store)->list_drift_reports("dev", 0);
  ASSERT_TRUE(reports.ok());
  ASSERT_GE(reports->size(), 3u);  // SetUp's, the markdown one, the one that found drift
  const auto& latest = reports->front();
  EXPECT_FALSE(latest.in_sync);
  EXPECT_EQ(nlohmann::json::parse(latest.report)["findings"][0]["kind"], "replica_down");
  EXPECT_NE(latest.markdown.find("| replica_down |"), std::string::npos) << latest.markdown;
  store::EventFilter filter;
  filter.env = "dev";
  filter.limit = 0;
  auto events = (*store)->list_events(filter);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(std::any_of(events->begin(), events->end(),
                          [](const store::Event& e) { return e.kind == "drift.found"; }));
}

}  // namespace
}  // namespace ztp
