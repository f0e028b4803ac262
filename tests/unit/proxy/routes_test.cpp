#include "proxy/routes.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ztp::proxy {
namespace {

using nlohmann::json;

json valid() {
  return json::parse(R"({"listen":"127.0.0.1:8081",
    "health":{"path":"/health","interval_ms":2000,"timeout_ms":1000,
              "healthy_threshold":1,"unhealthy_threshold":3},
    "drain_timeout_ms":30000,"upstream_timeout_ms":30000,
    "release_sets":[{"release":"3","weight":100,
                     "backends":[{"id":"dev-3-0","address":"127.0.0.1:20001"},
                                 {"id":"dev-3-1","address":"127.0.0.1:20002"}]}]})");
}

std::string error_of(const json& j, const std::string& env = "dev") {
  auto r = env_routes_from_json(env, j);
  if (r.ok()) {
    return "(accepted)";
  }
  EXPECT_EQ(r.error().code, Errc::invalid);
  return r.error().message;
}

TEST(RoutesTest, ParsesTheAdminApiBody) {
  auto r = env_routes_from_json("dev", valid());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->env, "dev");
  EXPECT_EQ(r->listen, "127.0.0.1:8081");
  EXPECT_EQ(r->health.interval.count(), 2000);
  EXPECT_EQ(r->health.unhealthy_threshold, 3);
  ASSERT_EQ(r->release_sets.size(), 1u);
  EXPECT_EQ(r->release_sets[0].weight, 100);
  ASSERT_EQ(r->release_sets[0].backends.size(), 2u);
  EXPECT_EQ(r->release_sets[0].backends[1].address, "127.0.0.1:20002");
}

TEST(RoutesTest, RoundTripsThroughJson) {
  auto r = env_routes_from_json("dev", valid());
  ASSERT_TRUE(r.ok());
  auto again = env_routes_from_json("dev", to_json(*r));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *r);
}

TEST(RoutesTest, AppliesDefaults) {
  auto r = env_routes_from_text("qa", R"({"listen":"127.0.0.1:9000"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->health.path, "/health");
  EXPECT_EQ(r->health.healthy_threshold, 1);
  EXPECT_EQ(r->drain_timeout.count(), 30000);
  EXPECT_TRUE(r->release_sets.empty());
}

TEST(RoutesTest, RejectsABadBackendAddress) {
  json j = valid();
  j["release_sets"][0]["backends"][1]["address"] = "127.0.0.1";
  EXPECT_EQ(error_of(j), "release_sets[0].backends[1].address: not host:port");
  j["release_sets"][0]["backends"][1]["address"] = "127.0.0.1:99999";
  EXPECT_EQ(error_of(j), "release_sets[0].backends[1].address: not host:port");
  j["release_sets"][0]["backends"][1]["address"] = "a b:80";
  EXPECT_EQ(error_of(j), "release_sets[0].backends[1].address: not host:port");
}

TEST(RoutesTest, RejectsWeightsOutOfRange) {
  json j = valid();
  j["release_sets"][0]["weight"] = 101;
  EXPECT_EQ(error_of(j), "release_sets[0].weight: must be 0-100");
  j["release_sets"][0]["weight"] = -1;
  EXPECT_EQ(error_of(j), "release_sets[0].weight: must be 0-100");
  j["release_sets"][0]["weight"] = "50";
  EXPECT_EQ(error_of(j), "release_sets[0].weight: expected an integer");
}

TEST(RoutesTest, RejectsDuplicates) {
  json j = valid();
  j["release_sets"][0]["backends"][1]["id"] = "dev-3-0";
  EXPECT_EQ(error_of(j), "release_sets[0].backends[1].id: duplicate backend id \"dev-3-0\"");
  j = valid();
  j["release_sets"].push_back({{"release", "3"}, {"weight", 0}});
  EXPECT_EQ(error_of(j), "release_sets[1].release: duplicate release \"3\"");
}

TEST(RoutesTest, RejectsMissingAndUnknownFields) {
  json j = valid();
  j.erase("listen");
  EXPECT_EQ(error_of(j), "listen: required");
  j = valid();
  j["release_sets"][0]["backends"][0].erase("id");
  EXPECT_EQ(error_of(j), "release_sets[0].backends[0].id: required");
  j = valid();
  j["health"]["intervall_ms"] = 5;
  EXPECT_EQ(error_of(j), "health.intervall_ms: unknown field");
  j = valid();
  j["weights"] = 5;
  EXPECT_EQ(error_of(j), "weights: unknown field");
}

TEST(RoutesTest, RejectsBadHealthSettings) {
  json j = valid();
  j["health"]["path"] = "health";
  EXPECT_EQ(error_of(j), "health.path: must start with /");
  j = valid();
  j["health"]["healthy_threshold"] = 0;
  EXPECT_EQ(error_of(j), "health.healthy_threshold: must be 1-100");
  j = valid();
  j["health"]["interval_ms"] = 0;
  EXPECT_EQ(error_of(j), "health.interval_ms: must be 10-3600000");
}

TEST(RoutesTest, RejectsABadListenAddressAndEnvName) {
  json j = valid();
  j["listen"] = "8081";
  EXPECT_EQ(error_of(j), "listen: not host:port");
  EXPECT_EQ(error_of(valid(), "Dev!"),
            "env: \"Dev!\" is not a valid environment name ([a-z0-9][a-z0-9_.-]*)");
  j = valid();
  j["env"] = "prod";
  EXPECT_EQ(error_of(j), "env: \"prod\" does not match the environment of the URL \"dev\"");
}

TEST(RoutesTest, RejectsNonJson) {
  auto r = env_routes_from_text("dev", "{not json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "routes: body is not valid JSON");
}

}  // namespace
}  // namespace ztp::proxy
