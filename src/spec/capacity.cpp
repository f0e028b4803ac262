#include "spec/capacity.hpp"

#include <fmt/format.h>

#include <vector>

#include "spec/sections.hpp"

namespace ztp::spec {

PeakReplicas peak_replicas(const Environment& env) {
  const int64_t n = env.replicas;
  switch (env.strategy.kind) {
    case Strategy::Kind::rolling:
      return {2 * n,
              "rolling runs 2 × replicas at peak: a rollback restarts the old replicas beside "
              "the new ones"};
    case Strategy::Kind::canary:
      return {2 * n,
              "canary runs 2 × replicas at peak: the canary at full size beside the "
              "stable set"};
    case Strategy::Kind::blue_green:
      if (env.strategy.blue_green.keep_previous.count() > 0) {
        return {3 * n,
                "blue_green runs 3 × replicas at peak: the new set at full size beside the "
                "active set and the previous set kept warm for keep_previous"};
      }
      return {2 * n,
              "blue_green runs 2 × replicas at peak: the new set at full size beside the "
              "active set"};
  }
  return {2 * n, ""};
}

namespace detail {

void check_port_capacity(Reader& r, const Spec& spec, const std::vector<EnvironmentMarks>& marks) {
  const int64_t holds =
      static_cast<int64_t>(spec.service.port_range_last) - spec.service.port_range_first + 1;
  int64_t total = 0;
  size_t largest = spec.environments.size();
  std::vector<PeakReplicas> peaks;
  for (size_t i = 0; i < spec.environments.size(); ++i) {
    const auto& env = spec.environments[i];
    peaks.push_back(uses_port_range(env.target) ? peak_replicas(env) : PeakReplicas{});
    total += peaks[i].count;
    if (peaks[i].count > 0 &&
        (largest == spec.environments.size() || peaks[i].count > peaks[largest].count)) {
      largest = i;
    }
  }
  if (total <= holds || largest >= marks.size()) {
    return;
  }
  const auto& env = spec.environments[largest];
  std::vector<std::string> others;
  for (size_t i = 0; i < spec.environments.size(); ++i) {
    if (i != largest && peaks[i].count > 0) {
      others.push_back(fmt::format("{} {}", spec.environments[i].name, peaks[i].count));
    }
  }
  std::string with_others = others.empty() ? ""
                                           : fmt::format(" ({} with {}, which share the range)",
                                                         total, fmt::join(others, ", "));
  r.error(marks[largest].replicas.value_or(marks[largest].name),
          fmt::format("environments.{}.replicas: {} replicas need {} ports at peak{} but "
                      "port_range {}-{} holds {}; raise the range or lower replicas",
                      env.name, env.replicas, peaks[largest].count, with_others,
                      spec.service.port_range_first, spec.service.port_range_last, holds),
          peaks[largest].why);
}

}  // namespace detail
}  // namespace ztp::spec
