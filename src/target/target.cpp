#include "target/target.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace ztp::target {

int ReleaseSet::healthy() const {
  return static_cast<int>(std::count_if(replicas.begin(), replicas.end(), [](const Replica& r) {
    return r.state == Replica::State::healthy;
  }));
}

std::string_view change_name(FileChange::Kind kind) {
  switch (kind) {
    case FileChange::Kind::modified:
      return "modified";
    case FileChange::Kind::added:
      return "added";
    case FileChange::Kind::removed:
      return "removed";
  }
  return "modified";
}

std::string describe_changes(const std::vector<FileChange>& changes) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < changes.size() && i < 5; ++i) {
    parts.push_back(fmt::format("{} {}", change_name(changes[i].kind), changes[i].path));
  }
  std::string out = fmt::format("{}", fmt::join(parts, ", "));
  if (changes.size() > 5) {
    out += fmt::format(" (and {} more)", changes.size() - 5);
  }
  return out;
}

Result<RouteView> Target::routes(const std::string& env) {
  Observed obs;
  ZTP_ASSIGN_OR_RETURN(obs, observe(env));
  RouteView view;
  for (const auto& set : obs.sets) {
    RoutedSet routed{set.release, set.weight, {}};
    for (const auto& r : set.replicas) {
      routed.backends.emplace_back(r.id, r.address);
    }
    view.sets.push_back(std::move(routed));
  }
  return view;
}

Result<std::vector<FileChange>> Target::changed_files(const ReleaseRef&) {
  return std::vector<FileChange>{};
}

Result<std::map<std::string, std::vector<FileChange>>> Target::changed_config(const std::string&) {
  return std::map<std::string, std::vector<FileChange>>{};
}

Result<void> Target::refresh_release(const ReleaseRef& release) { return prepare(release); }

Result<void> Target::ensure_router() { return {}; }

Result<void> Target::reset_routes(const std::string& env, const std::map<std::string, int>& weights,
                                  const std::set<std::string>&) {
  Observed obs;
  ZTP_ASSIGN_OR_RETURN(obs, observe(env));
  std::map<std::string, int> all;
  for (const auto& set : obs.sets) {
    auto it = weights.find(set.release);
    all[set.release] = it == weights.end() ? 0 : it->second;
  }
  return set_weights(env, all);
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
