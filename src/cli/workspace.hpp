#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "cli/command.hpp"
#include "engine/progress.hpp"
#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"

namespace ztp::cli {

// What most commands work on: the spec, ZTP_HOME, the store and the targets.
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

// Loads the spec (-f), opens the store under ZTP_HOME.
Result<Workspace> open_workspace(const Globals& globals);

// Prints progress events as timestamped lines on standard error.
engine::Progress terminal_progress();

}  // namespace ztp::cli
