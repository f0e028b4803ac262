#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace ztp::engine {

// One step of a rollout or a run, as recorded in the store and shown live.
struct ProgressEvent {
  std::string kind;     // e.g. "replica.healthy", "weights", "rollout.failed"
  std::string message;  // one line for a person
  nlohmann::json data = nlohmann::json::object();
};

// Receives progress; must not block for long (it runs on the rollout's thread).
using Progress = std::function<void(const ProgressEvent&)>;

}  // namespace ztp::engine
