#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cli/command.hpp"
#include "engine/drift.hpp"
#include "engine/progress.hpp"
#include "engine/workspace.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"

namespace ztp::cli {

// What most commands work on: the spec, ZTP_HOME, the store and the targets.
using Workspace = engine::Workspace;

// Loads the spec (-f), opens the store under ZTP_HOME; with `env`, also checks that the spec
// names that environment (the error names the known ones).
Result<Workspace> open_workspace(const Globals& globals, const std::string& env = "");

// Opens the workspace (checking that the spec names `env`, when not empty), runs
// `body(ws, args...)` on it and prints its result as print_result() does; returns the exit code.
template <typename Body, typename... Args>
int with_workspace(const Context& ctx, const std::string& env, Body body, const Args&... args) {
  auto ws = open_workspace(ctx.globals, env);
  if (!ws.ok()) {
    return report(ctx, ws.error());
  }
  return print_result(ctx, body(*ws, args...));
}

// What drift checks see of `ws` (which must outlive it): its spec, store and targets, and the
// system clock; `progress` receives a fix's steps.
engine::DriftContext drift_context(Workspace& ws, engine::Progress progress = {});

// Prints progress events as timestamped lines on standard error.
engine::Progress terminal_progress();

// A time as messages show it, to the minute: "2027-01-15 16:00 UTC".
std::string utc_minutes(std::chrono::system_clock::time_point t);

// Who acts, as the audit log and the notifications name them: `by` when given (a --by flag),
// else $USER, else "cli".
std::string actor_of(const std::string& by);

// What every command that changes an environment does first: ends what a dead process (a
// killed `ztp run`, `ztp deploy` or controller) left half-done (engine::reconcile over `p`),
// telling `note` each repair. Returns the repairs; an error means an environment could not be
// put back.
Result<std::vector<engine::Repair>> reconcile_first(
    engine::Pipeline& p, const std::function<void(const std::string&)>& note);
// The same over `ws`, with progress and each repair printed on standard error.
Result<std::vector<engine::Repair>> reconcile_first(Workspace& ws);

}  // namespace ztp::cli
