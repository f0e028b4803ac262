#include "server/env_view.hpp"

#include <charconv>

#include "engine/incident_report.hpp"
#include "sys/host_port.hpp"

namespace ztp::server {

namespace {

nlohmann::json hold_json(const std::optional<store::EnvHold>& hold) {
  return hold ? engine::record_json(*hold) : nlohmann::json();
}

nlohmann::json revision_of(const std::string& label) {
  int64_t revision = 0;
  auto [end, ec] = std::from_chars(label.data(), label.data() + label.size(), revision);
  if (ec == std::errc() && end == label.data() + label.size()) {
    return revision;
  }
  return label;
}

}  // namespace

Result<EnvView> view_environment(store::SqliteStore& store, const spec::Environment& env,
                                 const TargetFor& target_for) {
  EnvView view;
  view.env = &env;
  ZTP_ASSIGN_OR_RETURN(view.release, store.current_release(env.name));
  ZTP_ASSIGN_OR_RETURN(auto lkg, store.get_last_known_good(env.name));
  if (lkg.has_value()) {
    view.last_known_good = lkg->revision;
  }
  ZTP_ASSIGN_OR_RETURN(view.frozen, store.get_freeze(env.name));
  ZTP_ASSIGN_OR_RETURN(view.isolated, store.get_isolation(env.name));
  auto target = target_for(env.name);
  if (!target.ok()) {
    view.error = target.error().message;
    return view;
  }
  auto observed = (*target)->observe(env.name);
  if (!observed.ok()) {
    view.error = observed.error().message;
    return view;
  }
  view.observed = std::move(*observed);
  return view;
}

nlohmann::json to_json(const EnvView& view) {
  const auto& env = *view.env;
  nlohmann::json j{
      {"name", env.name},
      {"url", "http://" + env.listen + "/"},
      {"target", env.target},
      {"desired_replicas", env.replicas},
      {"release", view.release ? engine::record_json(*view.release) : nlohmann::json()},
      {"last_known_good",
       view.last_known_good ? nlohmann::json(*view.last_known_good) : nlohmann::json()},
      {"frozen", hold_json(view.frozen)},
      {"isolated", hold_json(view.isolated)},
      {"replicas", nlohmann::json::array()},
      {"weights", nlohmann::json::object()},
      {"healthy", false}};
  if (!view.observed) {
    j["error"] = view.error;
    return j;
  }
  // A set other than the active release's is a rollout (or a rollback) under way: its replicas
  // starting are progress, not ill health, even once the set has a share of traffic.
  const std::string active = view.release ? std::to_string(view.release->revision) : "";
  int serving = 0;
  bool all_healthy = true;
  bool progressing = false;
  for (const auto& set : view.observed->sets) {
    j["weights"][set.release] = set.weight;
    for (const auto& r : set.replicas) {
      bool healthy = r.state == target::Replica::State::healthy;
      bool alive =
          r.state != target::Replica::State::stopped && r.state != target::Replica::State::crashed;
      bool starting = r.state == target::Replica::State::starting && set.release != active;
      j["replicas"].push_back({{"id", r.id},
                               {"release_revision", revision_of(r.release)},
                               {"port", sys::port_of(r.address)},
                               {"alive", alive},
                               {"healthy", healthy},
                               {"state", target::state_name(r.state)},
                               {"restarts", r.restarts},
                               {"detail", r.detail}});
      progressing = progressing || starting;
      if (set.weight > 0 && !starting) {
        serving += healthy ? 1 : 0;
        all_healthy = all_healthy && healthy;
      }
    }
  }
  j["progressing"] = progressing;
  j["healthy"] = serving > 0 && all_healthy;
  return j;
}

}  // namespace ztp::server
