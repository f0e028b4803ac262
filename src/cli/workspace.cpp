#include "cli/workspace.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "sys/time.hpp"

namespace ztp::cli {

Result<Workspace> open_workspace(const Globals& globals, const std::string& env) {
  auto ws = engine::open_workspace(globals.spec_path(), globals.home_path());
  if (ws.ok() && !env.empty()) {
    if (auto found = ws->environment(env); !found.ok()) {
      return found.take_error();
    }
  }
  return ws;
}

engine::DriftContext drift_context(Workspace& ws, engine::Progress progress) {
  return {ws.spec,
          ws.home,
          *ws.store,
          system_clock(),
          [&ws](const std::string& env) { return ws.target_for(env); },
          std::move(progress)};
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

std::string utc_minutes(std::chrono::system_clock::time_point t) {
  return sys::format_utc(t, "%Y-%m-%d %H:%M UTC");
}

std::string actor_of(const std::string& by) {
  if (!by.empty()) {
    return by;
  }
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? user : "cli";
}

Result<std::vector<engine::Repair>> reconcile_first(
    engine::Pipeline& p, const std::function<void(const std::string&)>& note) {
  auto repairs = engine::reconcile(p);
  if (!repairs.ok()) {
    return repairs.take_error();
  }
  for (const auto& r : *repairs) {
    note("repaired: " + r.what);
  }
  return repairs;
}

Result<std::vector<engine::Repair>> reconcile_first(Workspace& ws) {
  auto note = [](const std::string& m) { fmt::print(stderr, "{}\n", m); };
  auto p = engine::make_pipeline(ws, terminal_progress(), note);
  return reconcile_first(p, note);
}

}  // namespace ztp::cli
