#pragma once

#include <cstdint>
#include <string>

#include "spec/spec.hpp"

// How many replica processes an environment may run at once, which bounds the ports the local
// target takes from service.port_range. docs/strategies.md explains each strategy's peak; keep
// the two in step with engine/rolling, engine/blue_green, engine/canary and engine/restore.
namespace ztp::spec {

// The most replicas of `env` running at the same moment, and why.
struct PeakReplicas {
  int64_t count = 0;
  std::string why;  // e.g. "canary runs 2 × replicas at peak: the canary at full size …"
};

// Rolling and canary: 2 × replicas (a rollback restarts the old set at full size before the
// new one stops; the canary grows to full size beside the stable set). Blue-green: the new set
// at full size beside the active one, and beside the previous set kept warm when
// keep_previous is more than 0: 3 × replicas (else 2 ×).
PeakReplicas peak_replicas(const Environment& env);

}  // namespace ztp::spec
