#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/pipeline.hpp"
#include "engine/progress.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"

namespace ztp::engine {

// What the commands and the controller work on: the spec, ZTP_HOME, the store and the
// targets. Not thread-safe: target_for creates targets on first use.
struct Workspace {
  spec::Spec spec;
  std::filesystem::path home;
  std::unique_ptr<store::SqliteStore> store;

  // The target that runs `env` (made once per kind). not_found for an unknown environment.
  Result<target::Target*> target_for(const std::string& env);
  // The environment named `env`, or Errc::invalid naming the known ones.
  Result<const spec::Environment*> environment(const std::string& env) const;

 private:
  std::map<std::string, std::unique_ptr<target::Target>> m_targets;
};

// Loads the spec at `spec_path` and opens the store under `home` (made absolute).
Result<Workspace> open_workspace(const std::filesystem::path& spec_path,
                                 const std::filesystem::path& home);

// The Pipeline of a workspace: its spec, store and targets, the system clock, waiting for
// approvals by polling the store. `actor` names who drives it in the audit log ("cli",
// "controller").
Pipeline make_pipeline(Workspace& ws, Progress progress,
                       std::function<void(const std::string&)> on_wait,
                       const std::string& actor = "cli");

}  // namespace ztp::engine
