#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace ztp::testing {

// A task of the ECS fake as its runner sees it.
struct FakeEcsTask {
  std::string task_arn{};
  std::string cluster_arn{};
  std::string service_name{};  // "" for a task outside a service
  std::string task_definition_arn{};
  // The task definition's containerDefinitions, as registered (name, image, portMappings,
  // environment, essential, ...).
  nlohmann::json container_definitions = nlohmann::json::array();
};

// How a task's start ended. Running: `host` and `port` say where it serves ("" and 0: the fake
// gives it a private IP and serves on the container port, reaching nothing). Failed: the task
// stops as ECS stops one that could not start or whose essential container exited.
struct TaskStartResult {
  bool started = true;
  std::string host{};
  int port = 0;
  // When not started: "CannotPullContainerError: ..." (stopCode TaskFailedToStart), or the
  // exit of an essential container (stopCode EssentialContainerExited) when exit_code is set.
  std::string reason{};
  std::optional<int> exit_code{};
};

// Decides what a task of the ECS fake does. The fake calls start() when a task leaves PENDING
// (its image pulled) and stop() when it begins stopping; both run under the fake's lock, so
// they must not call the fake.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Starts `task`: where it serves, or why it failed.
  virtual TaskStartResult start(const FakeEcsTask& task) = 0;
  // Stops what start() started (not called for a task whose start failed).
  virtual void stop(const FakeEcsTask& task) = 0;
};

// The default runner: every task starts and serves nothing.
class IdleTaskRunner final : public TaskRunner {
 public:
  TaskStartResult start(const FakeEcsTask&) override { return {}; }
  void stop(const FakeEcsTask&) override {}
};

}  // namespace ztp::testing
