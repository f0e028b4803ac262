#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/aws_fake_sdk_client.hpp"
#include "support/aws_fake_server.hpp"
#include "support/fake_clock.hpp"

namespace ztp::testing {

// A RegisterTaskDefinition request for Fargate: one container "web" of `image` on port 8080.
nlohmann::json fargate_task_definition(const std::string& family, const std::string& image);
// An awsvpc networkConfiguration of one subnet and security group.
nlohmann::json awsvpc_network();

// A test of an AwsFake on a FakeClock through the official AWS SDK for JavaScript: start() makes
// both; ok() and fails() run one SDK call and check what the SDK parsed. Fails (never skips)
// when node or the SDK is missing.
class AwsFakeSdkFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  // Starts the fake (on `clock` unless `options` names another clock) and the SDK's script.
  void start(AwsFakeOptions options = {});

  // A call that must succeed: its output. The SDK must have read the fake's request id.
  nlohmann::json ok(const std::string& client, const std::string& command,
                    const nlohmann::json& input = {},
                    const nlohmann::json& config = nlohmann::json::object());
  // A call that must fail with the exception `name`, a message and the fake's request id: the
  // error ({"name", "message", "requestId", "httpStatusCode", ...}).
  nlohmann::json fails(const std::string& client, const std::string& command,
                       const nlohmann::json& input, const std::string& name,
                       const nlohmann::json& config = nlohmann::json::object());

  // The request id of the last call the fake answered.
  std::string last_request_id() const;
  // The fake's time `from_start` after the test began, as the SDK prints dates.
  std::string at(std::chrono::milliseconds from_start) const;
  // Moves the clock `step` at a time until `done` holds, at most `steps` times.
  bool advance_until(const std::function<bool()>& done,
                     std::chrono::seconds step = std::chrono::seconds(5), int steps = 100);

  // Shorthands on the cluster "prod".
  nlohmann::json create_service(const std::string& name, const std::string& task_definition,
                                int desired, const nlohmann::json& more = nlohmann::json::object());
  nlohmann::json service(const std::string& name);
  // The tasks of a service whose desiredStatus is `desired`, described.
  nlohmann::json tasks(const std::string& service, const std::string& desired = "RUNNING");
  // An ip target group on port 8080 checked every 10 s, healthy or unhealthy after 2 checks.
  std::string create_target_group(const std::string& name);

  FakeClock clock;
  WallTime t0 = clock.wall_now();
  std::unique_ptr<AwsFake> fake;
  std::unique_ptr<AwsSdkClient> sdk;
  int calls_made = 0;  // by ok() and fails()
};

}  // namespace ztp::testing
