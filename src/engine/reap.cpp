#include "engine/reap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "engine/deploy.hpp"
#include "engine/env_lock.hpp"
#include "engine/rollback.hpp"
#include "sys/time.hpp"
#include "util/duration.hpp"

namespace ztp::engine {
namespace {

std::optional<int64_t> revision_of(const std::string& label) {
  int64_t value = 0;
  const char* end = label.data() + label.size();
  auto [ptr, ec] = std::from_chars(label.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

// When the release labelled `label` stopped being active: the first activation of another
// release after its own last one; `fallback` when it never was active or the rows are gone.
int64_t standby_since(const std::vector<store::Release>& releases, const std::string& label,
                      int64_t fallback) {
  auto revision = revision_of(label);
  const store::Release* self = nullptr;
  for (const auto& r : releases) {
    if (revision && r.revision == *revision) {
      self = &r;
    }
  }
  if (self == nullptr || !self->activated_at) {
    return fallback;
  }
  std::optional<int64_t> next;
  for (const auto& r : releases) {
    if (&r != self && r.activated_at && *r.activated_at >= *self->activated_at &&
        (!next || *r.activated_at < *next)) {
      next = r.activated_at;
    }
  }
  return next.value_or(fallback);
}

}  // namespace

Result<std::string> rollback_standby(store::SqliteStore& store, const std::string& env) {
  auto to = rollback_target(store, env, std::nullopt, false);
  if (to.ok()) {
    return std::to_string(to->revision);
  }
  if (to.error().code == Errc::not_found) {
    return std::string();
  }
  return to.take_error();
}

Clock::Duration standby_window(const spec::Environment& env) {
  if (env.strategy.kind == spec::Strategy::Kind::blue_green) {
    return env.strategy.blue_green.keep_previous;
  }
  return env.watch.window;
}

Result<std::vector<std::string>> stop_release_sets(target::Target& target, const std::string& env,
                                                   const std::vector<std::string>& releases,
                                                   const Progress& progress) {
  ZTP_ASSIGN_OR_RETURN(auto obs, target.observe(env));
  std::vector<std::string> ids;
  std::vector<std::string> stopped;
  for (const auto& release : releases) {
    const auto* set = obs.find(release);
    if (set == nullptr || set->replicas.empty()) {
      continue;
    }
    stopped.push_back(release);
    for (const auto& r : set->replicas) {
      ids.push_back(r.id);
    }
  }
  if (ids.empty()) {
    return stopped;
  }
  progress(
      {"replica.draining", fmt::format("draining {}", fmt::join(ids, ", ")), {{"replicas", ids}}});
  ZTP_TRY(target.remove_replicas(env, ids));
  progress({"replica.stopped",
            fmt::format("stopped release {} ({})", fmt::join(stopped, ", "), fmt::join(ids, ", ")),
            {{"releases", stopped}, {"replicas", ids}}});
  return stopped;
}

Result<ReapOutcome> reap_standby(const spec::Environment& env, store::SqliteStore& store,
                                 target::Target& target, Clock& clock, const Progress& progress) {
  ReapOutcome out;
  ZTP_ASSIGN_OR_RETURN(auto active, store.current_release(env.name));
  if (!active.has_value() || !active->activated_at) {
    return out;
  }
  auto obs = target.observe(env.name);
  if (!obs.ok()) {
    return obs.take_error();
  }
  const std::string active_label = std::to_string(active->revision);
  const auto* serving = obs->find(active_label);
  if (serving == nullptr || serving->weight <= 0) {
    return out;
  }
  auto keep = rollback_standby(store, env.name);
  if (!keep.ok()) {
    return keep.take_error();
  }
  ZTP_ASSIGN_OR_RETURN(auto releases, store.list_releases(env.name, 0));
  const auto window = standby_window(env);
  const auto now = clock.wall_now();
  std::vector<std::string> replaced;
  std::vector<std::string> expired;
  for (const auto& set : obs->sets) {
    if (set.release == active_label || set.weight > 0 || set.replicas.empty()) {
      continue;
    }
    if (set.release != *keep) {
      replaced.push_back(set.release);
      continue;
    }
    auto expiry =
        sys::from_unix_ms(standby_since(releases, set.release, *active->activated_at)) + window;
    if (now >= expiry) {
      expired.push_back(set.release);
    } else {
      out.next_expiry = expiry;
    }
  }
  if (!replaced.empty()) {
    progress({"standby.replaced",
              fmt::format("release {} of {} is no rollback target ({}): stopping {}; one standby "
                          "set is kept warm at most",
                          fmt::join(replaced, ", "), env.name,
                          keep->empty() ? std::string("there is none")
                                        : fmt::format("release {} is", *keep),
                          replaced.size() == 1 ? "it" : "them"),
              {{"releases", replaced},
               {"kept", keep->empty() ? nlohmann::json() : nlohmann::json(*keep)}}});
  }
  if (!expired.empty()) {
    progress({"standby.expired",
              fmt::format("release {} of {} kept warm past its {} window: stopping it",
                          fmt::join(expired, ", "), env.name, format_duration(window)),
              {{"releases", expired}, {"window_ms", window.count()}}});
  }
  auto leaving = replaced;
  leaving.insert(leaving.end(), expired.begin(), expired.end());
  if (leaving.empty()) {
    return out;
  }
  ZTP_ASSIGN_OR_RETURN(out.stopped, stop_release_sets(target, env.name, leaving, progress));
  return out;
}

Result<ReapOutcome> reap_expired_standby(const spec::Spec& spec, const std::filesystem::path& home,
                                         const std::string& env, store::SqliteStore& store,
                                         target::Target& target, Clock& clock,
                                         const Progress& progress) {
  ZTP_ASSIGN_OR_RETURN(auto e, find_environment(spec, env));
  auto lock = EnvLock::acquire(home, env, fmt::format("ztp reap {}", env), false);
  if (!lock.ok()) {
    if (lock.error().code == Errc::conflict) {
      ReapOutcome skipped;
      skipped.skipped = true;
      return skipped;
    }
    return lock.take_error();
  }
  return reap_standby(*e, store, target, clock, recorder(store, env, std::nullopt, progress));
}

}  // namespace ztp::engine
