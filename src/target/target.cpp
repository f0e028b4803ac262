#include "target/target.hpp"

#include <algorithm>

namespace ztp::target {

int ReleaseSet::healthy() const {
  return static_cast<int>(std::count_if(replicas.begin(), replicas.end(), [](const Replica& r) {
    return r.state == Replica::State::healthy;
  }));
}

const ReleaseSet* Observed::find(const std::string& release) const {
  for (const auto& s : sets) {
    if (s.release == release) {
      return &s;
    }
  }
  return nullptr;
}

std::string_view state_name(Replica::State state) {
  switch (state) {
    case Replica::State::starting:
      return "starting";
    case Replica::State::healthy:
      return "healthy";
    case Replica::State::unhealthy:
      return "unhealthy";
    case Replica::State::draining:
      return "draining";
    case Replica::State::stopped:
      return "stopped";
    case Replica::State::crashed:
      return "crashed";
  }
  return "unknown";
}

}  // namespace ztp::target
