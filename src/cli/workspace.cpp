#include "cli/workspace.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>

#include "spec/parse.hpp"
#include "target/registry.hpp"

namespace ztp::cli {

Result<target::Target*> Workspace::target_for(const std::string& env) {
  auto e = environment(env);
  if (!e.ok()) {
    return e.take_error();
  }
  const std::string& kind = (*e)->target;
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
  if (const auto* e = spec.find_environment(env); e != nullptr) {
    return e;
  }
  std::vector<std::string> names;
  for (const auto& e : spec.environments) {
    names.push_back(e.name);
  }
  return make_error(Errc::invalid, fmt::format("no environment {} in {}; environments: {}", env,
                                               spec.file.string(), fmt::join(names, ", ")));
}

Result<Workspace> open_workspace(const Globals& globals) {
  auto spec = spec::load_spec(globals.spec_path());
  if (!spec.ok()) {
    return spec.take_error();
  }
  Workspace ws;
  ws.spec = std::move(*spec);
  ws.home = std::filesystem::absolute(globals.home_path());
  auto store = store::SqliteStore::open(ws.home / "state.db");
  if (!store.ok()) {
    return store.take_error();
  }
  ws.store = std::move(*store);
  return ws;
}

engine::Progress terminal_progress() {
  auto start = std::chrono::steady_clock::now();
  bool tty = ::isatty(STDERR_FILENO) != 0;
  return [start, tty](const engine::ProgressEvent& e) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bool bad = e.kind.find("failed") != std::string::npos ||
               e.kind.find("rolled_back") != std::string::npos;
    if (tty && bad) {
      fmt::print(stderr, "\033[2m{:>7.1f}s\033[0m \033[31m{}\033[0m\n", secs, e.message);
    } else if (tty) {
      fmt::print(stderr, "\033[2m{:>7.1f}s\033[0m {}\n", secs, e.message);
    } else {
      fmt::print(stderr, "{:>7.1f}s {}\n", secs, e.message);
    }
  };
}

}  // namespace ztp::cli
