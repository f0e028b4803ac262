#pragma once

#include <set>
#include <string>
#include <vector>

#include "engine/drift.hpp"

// The parts of drift detection and repair shared by drift.cpp and drift_fix.cpp.
namespace ztp::engine::drift_detail {

// A finding with what --fix does about it, beyond what the report shows.
struct Planned {
  DriftFinding finding;
  int start = 0;                    // replicas of the active release to start
  std::vector<std::string> remove;  // replicas to drain and stop (after the starts are healthy)
  target::ReleaseRef refresh;       // a standby release to unpack afresh (digest "" when none)
};

// What examine() found: the report (without findings) and the planned findings.
struct Examined {
  DriftReport report;
  std::vector<Planned> planned;
  target::ReleaseRef active;  // env, label and digest of the active release ("" when none)
};

// Reads the desired state from the store and the observed state from `target` and compares
// them. Saves nothing.
Result<Examined> examine(const DriftContext& ctx, const spec::Environment& env,
                         target::Target& target);

// True for the kinds that --fix repairs by re-applying the routes.
bool is_route_kind(DriftKind kind);

// Saves `report` in the store (setting stored_id) and appends its events: "drift.found" when
// something differed, and after a fix "drift.fixed" or "drift.fix_incomplete".
Result<void> save_report(const DriftContext& ctx, DriftReport& report);

// The findings of `planned`, in order.
std::vector<DriftFinding> findings_of(const std::vector<Planned>& planned);

}  // namespace ztp::engine::drift_detail
