#include "engine/workspace.hpp"

#include <fmt/format.h>

#include <chrono>

#include "engine/deploy.hpp"
#include "spec/parse.hpp"
#include "target/registry.hpp"
#include "util/fs.hpp"

namespace ztp::engine {

Result<target::Target*> Workspace::target_for(const std::string& env) {
  ZTP_ASSIGN_OR_RETURN(auto e, environment(env));
  const std::string& kind = e->target;
  auto it = m_targets.find(kind);
  if (it == m_targets.end()) {
    auto made = target::make_target(kind, spec, home, system_clock());
    if (!made.ok()) {
      return make_error(made.error().code,
                        fmt::format("environment {}: {}", env, made.error().message));
    }
    it = m_targets.emplace(kind, std::move(*made)).first;
  }
  return it->second.get();
}

Result<const spec::Environment*> Workspace::environment(const std::string& env) const {
  return find_environment(spec, env);
}

Result<Workspace> open_workspace(const std::filesystem::path& spec_path,
                                 const std::filesystem::path& home) {
  ZTP_ASSIGN_OR_RETURN(auto spec, spec::load_spec(spec_path));
  Workspace ws;
  ws.spec = std::move(spec);
  ws.home = std::filesystem::absolute(home);
  // ZTP_HOME holds the store, logs and rendered configs: its owner's only.
  ZTP_TRY(fs::ensure_private_dir(ws.home));
  ZTP_ASSIGN_OR_RETURN(ws.store, store::SqliteStore::open(ws.home / "state.db"));
  return ws;
}

Pipeline make_pipeline(Workspace& ws, Progress progress,
                       std::function<void(const std::string&)> on_wait, const std::string& actor) {
  return Pipeline{
      .spec = ws.spec,
      .home = ws.home,
      .store = *ws.store,
      .clock = system_clock(),
      .target_for = [&ws](const std::string& env) { return ws.target_for(env); },
      .progress = std::move(progress),
      .on_wait = std::move(on_wait),
      .wait_for_approval = true,
      .wait_when_held = true,
      .stop_requested = {},
      .approval_poll = std::chrono::milliseconds(500),
      .actor = actor,
  };
}

}  // namespace ztp::engine
