#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine/deploy.hpp"
#include "store/sqlite_store.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_target.hpp"
#include "support/support.hpp"
#include "traffic_clock.hpp"

namespace ztp::engine::test {

// What the engine's environment-level tests share: a spec with one environment `dev` (2
// replicas, rolling unless a test says otherwise), a store in a temporary ZTP_HOME, the fake
// target and a clock that carries steady traffic through it.
class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    spec.file = dir / "ztp.yaml";
    spec.app = "demo";
    spec.service.start_timeout = std::chrono::seconds(5);
    spec::Environment dev;
    dev.name = "dev";
    dev.listen = "127.0.0.1:8080";
    dev.replicas = 2;
    spec.environments.push_back(dev);
    auto opened = store::SqliteStore::open(home() / "state.db", fake);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store = std::move(*opened);
  }

  std::filesystem::path home() const { return dir / "home"; }
  spec::Environment& env() { return spec.environments[0]; }

  void use_blue_green(spec::Duration keep_previous) {
    env().strategy.kind = spec::Strategy::Kind::blue_green;
    env().strategy.blue_green.preview_listen = "127.0.0.1:9001";
    env().strategy.blue_green.keep_previous = keep_previous;
  }

  void use_canary() {
    env().strategy.kind = spec::Strategy::Kind::canary;
    env().strategy.canary.steps = {{10, std::chrono::seconds(10)}, {50, std::chrono::seconds(10)}};
    env().strategy.canary.analysis.deadline = std::chrono::seconds(30);
  }

  // Records a release of `digest` and rolls dev to it by its strategy, as a deploy would (no
  // image, no verification, no watch); returns its revision.
  int64_t land(const std::string& digest) {
    store::NewRelease nr;
    nr.env = "dev";
    nr.digest = digest;
    nr.replicas = env().replicas;
    auto release = store->create_release(nr);
    EXPECT_TRUE(release.ok());
    if (!release.ok()) {
      return 0;
    }
    RolloutPlan plan;
    plan.next = {"dev", std::to_string(release->revision), digest};
    plan.replicas = env().replicas;
    plan.start_timeout = spec.service.start_timeout;
    auto rolled = run_strategy(target, clock, env(), plan, {}, progress);
    EXPECT_TRUE(rolled.ok()) << rolled.error().message;
    EXPECT_TRUE(
        store->set_release_status("dev", release->revision, store::ReleaseStatus::active).ok());
    EXPECT_TRUE(store->set_last_known_good("dev", release->revision).ok());
    return release->revision;
  }

  // A directory holding one page with `text`, for deploy(... dir ...).
  std::filesystem::path site(const std::string& name, const std::string& text) {
    auto path = dir / name;
    std::filesystem::create_directories(path);
    std::ofstream(path / "index.html") << text;
    return path;
  }

  store::ReleaseStatus status_of(int64_t revision) {
    auto r = store->get_release("dev", revision);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->status : store::ReleaseStatus::pending;
  }

  int64_t last_known_good() {
    auto lkg = store->get_last_known_good("dev");
    EXPECT_TRUE(lkg.ok() && lkg->has_value());
    return lkg.ok() && lkg->has_value() ? (*lkg)->revision : 0;
  }

  bool saw(const std::string& kind) const {
    return std::any_of(events.begin(), events.end(),
                       [&](const ProgressEvent& e) { return e.kind == kind; });
  }

  const ProgressEvent* find(const std::string& kind) const {
    for (const auto& e : events) {
      if (e.kind == kind) {
        return &e;
      }
    }
    return nullptr;
  }

  // How many journal lines of the fake target start with `prefix`.
  size_t count_journal(const std::string& prefix) const {
    return static_cast<size_t>(
        std::count_if(target.journal.begin(), target.journal.end(),
                      [&](const std::string& line) { return line.rfind(prefix, 0) == 0; }));
  }

  testing::TempDir dir;
  testing::FakeClock fake;
  testing::FakeTarget target{fake};
  testing::TrafficClock clock{fake, target};
  spec::Spec spec;
  std::unique_ptr<store::SqliteStore> store;
  std::vector<ProgressEvent> events;
  Progress progress = [this](const ProgressEvent& e) { events.push_back(e); };
};

}  // namespace ztp::engine::test
