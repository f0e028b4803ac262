#include "proxy/balancer.hpp"

#include <gtest/gtest.h>

#include <map>

#include "support/fake_clock.hpp"

namespace ztp::proxy {
namespace {

// A table of release sets with `per_set` healthy backends each.
struct Fixture {
  testing::FakeClock clock;
  std::shared_ptr<Table> table = std::make_shared<Table>();

  void add_set(const std::string& release, int weight, int per_set = 2) {
    RouteSet set;
    set.release = release;
    set.weight = weight;
    set.stats = std::make_shared<ReleaseStats>(release, 1);
    for (int i = 0; i < per_set; ++i) {
      BackendRoute route{release + "-" + std::to_string(i), "127.0.0.1:1"};
      auto b = std::make_shared<Backend>(route, release, boost::asio::ip::tcp::endpoint{}, 1,
                                         HealthConfig{}, clock);
      b->set_healthy(true);
      set.backends.push_back(b);
    }
    table->sets.push_back(std::move(set));
  }

  std::map<std::string, int> count_sets(int picks) {
    Balancer balancer(table);
    std::map<std::string, int> counts;
    for (int i = 0; i < picks; ++i) {
      auto p = balancer.pick();
      counts[p.backend == nullptr ? "none" : p.set->release]++;
    }
    return counts;
  }

  std::map<std::string, int> count_backends(int picks) {
    Balancer balancer(table);
    std::map<std::string, int> counts;
    for (int i = 0; i < picks; ++i) {
      auto p = balancer.pick();
      counts[p.backend == nullptr ? "none" : p.backend->id()]++;
    }
    return counts;
  }
};

void expect_share(const std::map<std::string, int>& counts, const std::string& key, double share,
                  int total) {
  auto it = counts.find(key);
  int got = it == counts.end() ? 0 : it->second;
  EXPECT_NEAR(static_cast<double>(got) / total, share, 0.01) << key << " got " << got;
}

TEST(BalancerTest, HonoursNinetyTen) {
  Fixture f;
  f.add_set("old", 90);
  f.add_set("new", 10);
  auto counts = f.count_sets(10000);
  expect_share(counts, "old", 0.90, 10000);
  expect_share(counts, "new", 0.10, 10000);
}

TEST(BalancerTest, HonoursFiftyFifty) {
  Fixture f;
  f.add_set("a", 50);
  f.add_set("b", 50);
  auto counts = f.count_sets(10000);
  expect_share(counts, "a", 0.5, 10000);
  expect_share(counts, "b", 0.5, 10000);
}

TEST(BalancerTest, HonoursOneNinetyNine) {
  Fixture f;
  f.add_set("canary", 1);
  f.add_set("stable", 99);
  auto counts = f.count_sets(10000);
  expect_share(counts, "canary", 0.01, 10000);
  expect_share(counts, "stable", 0.99, 10000);
  EXPECT_EQ(counts["canary"], 100);
}

TEST(BalancerTest, HonoursThreeSets) {
  Fixture f;
  f.add_set("a", 20);
  f.add_set("b", 30);
  f.add_set("c", 50);
  auto counts = f.count_sets(10000);
  expect_share(counts, "a", 0.2, 10000);
  expect_share(counts, "b", 0.3, 10000);
  expect_share(counts, "c", 0.5, 10000);
}

TEST(BalancerTest, SpreadsEvenlyInsideASet) {
  Fixture f;
  f.add_set("a", 100, 3);
  auto counts = f.count_backends(9000);
  EXPECT_EQ(counts["a-0"], 3000);
  EXPECT_EQ(counts["a-1"], 3000);
  EXPECT_EQ(counts["a-2"], 3000);
}

TEST(BalancerTest, ZeroWeightSetGetsNothing) {
  Fixture f;
  f.add_set("preview", 0);
  f.add_set("live", 100);
  auto counts = f.count_sets(10000);
  EXPECT_EQ(counts.count("preview"), 0u);
  EXPECT_EQ(counts["live"], 10000);
}

TEST(BalancerTest, AllZeroWeightsRouteNothing) {
  Fixture f;
  f.add_set("a", 0);
  f.add_set("b", 0);
  EXPECT_EQ(f.count_sets(100)["none"], 100);
}

TEST(BalancerTest, SkipsUnhealthyBackends) {
  Fixture f;
  f.add_set("a", 100, 3);
  f.table->sets[0].backends[1]->set_healthy(false);
  auto counts = f.count_backends(1000);
  EXPECT_EQ(counts.count("a-1"), 0u);
  EXPECT_EQ(counts["a-0"] + counts["a-2"], 1000);
}

TEST(BalancerTest, SkipsDrainingBackends) {
  Fixture f;
  f.add_set("a", 100, 2);
  f.table->sets[0].backends[0]->set_draining(true);
  auto counts = f.count_backends(1000);
  EXPECT_EQ(counts.count("a-0"), 0u);
  EXPECT_EQ(counts["a-1"], 1000);
}

TEST(BalancerTest, ASetWithNoRoutableBackendGivesItsShareToTheOthers) {
  Fixture f;
  f.add_set("old", 50);
  f.add_set("new", 50);
  for (auto& b : f.table->sets[1].backends) {
    b->set_healthy(false);
  }
  auto counts = f.count_sets(1000);
  EXPECT_EQ(counts["old"], 1000);
}

TEST(BalancerTest, NothingRoutableYieldsNoPick) {
  Fixture f;
  f.add_set("a", 100, 2);
  for (auto& b : f.table->sets[0].backends) {
    b->set_healthy(false);
  }
  Balancer balancer(f.table);
  auto p = balancer.pick();
  EXPECT_EQ(p.backend, nullptr);
  EXPECT_EQ(p.set, nullptr);
}

TEST(BalancerTest, SmoothSequenceInterleaves) {
  // nginx's example: weights 5, 1, 1 give a a b a c a a, not a a a a a b c.
  Fixture f;
  f.add_set("a", 5, 1);
  f.add_set("b", 1, 1);
  f.add_set("c", 1, 1);
  Balancer balancer(f.table);
  std::string seq;
  for (int i = 0; i < 7; ++i) {
    seq += balancer.pick().set->release;
  }
  EXPECT_EQ(seq, "aabacaa");
}

}  // namespace
}  // namespace ztp::proxy
