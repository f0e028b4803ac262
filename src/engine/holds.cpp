#include "engine/holds.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "sys/time.hpp"

namespace ztp::engine {
namespace {

constexpr int64_t k_day_s = 24 * 60 * 60;
constexpr int64_t k_week_s = int64_t{spec::k_minutes_per_week} * 60;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

// Seconds since Monday 00:00 of a local time given as seconds since the local epoch (1970-01-01
// was a Thursday).
int64_t week_second(int64_t local) {
  int64_t day = floor_div(local, k_day_s);
  return floor_mod(day + 3, 7) * k_day_s + (local - day * k_day_s);
}

// Local times of one zone, from the system's time zone database through date/tz.h: nothing
// process-wide is read or changed (no TZ, no tzset), so threads evaluate zones at once.
class ZoneClock {
 public:
  explicit ZoneClock(const date::time_zone& zone) : m_zone(zone) {}

  // Seconds east of UTC at instant `t`.
  int64_t offset(int64_t t) const {
    return m_zone.get_info(date::sys_seconds(std::chrono::seconds(t))).offset.count();
  }

  // The wall clock at `t`, as seconds since the local epoch.
  int64_t wall(int64_t t) const { return t + offset(t); }

  // The first instant at which the wall clock shows `local` or later: the earlier of the two
  // in a repeated hour, the end of the gap for a time the clock skips.
  int64_t first_at_or_after(int64_t local) const {
    std::set<int64_t> offsets{offset(local - k_day_s), offset(local), offset(local + k_day_s)};
    std::optional<int64_t> first;
    for (int64_t o : offsets) {
      int64_t candidate = local - o;
      if (wall(candidate) == local && (!first || candidate < *first)) {
        first = candidate;
      }
    }
    if (first) {
      return *first;
    }
    // `local` is skipped: wall(lo) < local <= wall(hi), and the clock only jumps forward here.
    int64_t lo = local - *offsets.rbegin();
    int64_t hi = local - *offsets.begin();
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      (wall(mid) >= local ? hi : lo) = mid;
    }
    return hi;
  }

  // "Mon 2027-01-18 08:00 CET".
  std::string format(int64_t t) const {
    date::zoned_seconds at(&m_zone, date::sys_seconds(std::chrono::seconds(t)));
    return date::format("%a %Y-%m-%d %H:%M %Z", at);
  }

 private:
  const date::time_zone& m_zone;
};

// The zone `name` of the system's database, which spec::zoneinfo_file has found there.
Result<const date::time_zone*> locate_zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception& e) {
    return make_error(Errc::not_found,
                      fmt::format("time zone `{}` cannot be read from the system's time zone "
                                  "database: {}; reinstall the Debian package tzdata",
                                  name, e.what()));
  }
}

// One occurrence of a deny window, as instants.
struct Occurrence {
  int64_t start = 0;
  int64_t end = 0;
  const spec::DenyWindow* window = nullptr;
};

// The occurrence of a window of `deny` that holds instant `t`, the one ending last when several
// do; nullopt when none does.
std::optional<Occurrence> holding(const ZoneClock& zone, const std::vector<spec::DenyWindow>& deny,
                                  int64_t t) {
  int64_t local = zone.wall(t);
  std::optional<Occurrence> out;
  for (const auto& w : deny) {
    int64_t from = int64_t{w.from} * 60;
    int64_t span = floor_mod(int64_t{w.to} - w.from, spec::k_minutes_per_week) * 60;
    int64_t latest_start = local - floor_mod(week_second(local) - from, k_week_s);
    // The next week's start too: after the clock was set back, an occurrence may have begun on
    // the first pass through a wall time the clock shows again now.
    for (int64_t start_wall : {latest_start, latest_start + k_week_s}) {
      int64_t start = zone.first_at_or_after(start_wall);
      int64_t end = zone.first_at_or_after(start_wall + span);
      if (start <= t && t < end && (!out || end > out->end)) {
        out = Occurrence{start, end, &w};
      }
    }
  }
  return out;
}

int64_t ms_since_epoch(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string Hold::describe() const {
  if (kind == Kind::freeze) {
    return fmt::format("{} is frozen{}: {} (`ztp unfreeze {}` lifts it)", env,
                       actor.empty() ? "" : " by " + actor, reason, env);
  }
  if (!opens_at) {
    return fmt::format("{} is in deploy windows that leave no open minute in the week: {}", env,
                       reason);
  }
  return fmt::format("{} is in a deploy window until {}: {}", env, opens_local, reason);
}

nlohmann::json Hold::to_json() const {
  nlohmann::json j{{"kind", kind == Kind::freeze ? "freeze" : "window"},
                   {"env", env},
                   {"reason", reason},
                   {"message", describe()}};
  if (kind == Kind::freeze) {
    j["actor"] = actor;
    j["at"] = since ? nlohmann::json(ms_since_epoch(*since)) : nlohmann::json();
  } else {
    j["timezone"] = timezone;
    j["opens_at"] = opens_at ? nlohmann::json(ms_since_epoch(*opens_at)) : nlohmann::json();
    j["opens_local"] = opens_local;
  }
  return j;
}

Result<std::optional<Hold>> window_hold(const std::string& env, const spec::DeployWindows& windows,
                                        WallTime now) {
  if (!windows.enabled()) {
    return std::optional<Hold>();
  }
  auto file = spec::zoneinfo_file(windows.timezone);
  auto located =
      file.ok() ? locate_zone(windows.timezone) : Result<const date::time_zone*>(file.take_error());
  if (!located.ok()) {
    Error e = located.take_error();
    e.message = fmt::format("deploy_windows of {}: {}", env, e.message);
    return e;
  }
  int64_t t = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  ZoneClock zone(**located);
  auto first = holding(zone, windows.deny, t);
  if (!first) {
    return std::optional<Hold>();
  }
  Hold hold;
  hold.kind = Hold::Kind::window;
  hold.env = env;
  hold.reason = first->window->reason;
  hold.timezone = windows.timezone;
  // Adjoining or overlapping windows keep the gate shut past the first one's end. Each step
  // goes on to a later occurrence; within the week (and a bit) there are at most two of each.
  int64_t open = first->end;
  for (size_t i = 0; i <= 2 * windows.deny.size(); ++i) {
    auto next = holding(zone, windows.deny, open);
    if (!next) {
      hold.opens_at = WallTime(std::chrono::seconds(open));
      hold.opens_local = zone.format(open);
      break;
    }
    open = next->end;
  }
  return std::optional<Hold>(std::move(hold));
}

Result<std::vector<Hold>> holds_on(store::SqliteStore& store, const spec::Environment& env,
                                   WallTime now) {
  std::vector<Hold> out;
  ZTP_ASSIGN_OR_RETURN(auto freeze, store.get_freeze(env.name));
  if (freeze.has_value()) {
    const auto& f = *freeze;
    Hold hold;
    hold.env = env.name;
    hold.reason = f.reason;
    hold.actor = f.actor;
    hold.since = sys::from_unix_ms(f.at);
    out.push_back(std::move(hold));
  }
  ZTP_ASSIGN_OR_RETURN(auto window, window_hold(env.name, env.deploy_windows, now));
  if (window.has_value()) {
    out.push_back(std::move(*window));
  }
  return out;
}

std::string describe(const std::vector<Hold>& holds) {
  std::string out;
  for (const auto& h : holds) {
    out += (out.empty() ? "" : "; ") + h.describe();
  }
  return out;
}

std::string HeldRun::describe() const {
  std::string why = holds.empty() ? fmt::format(
                                        "no hold is left; it goes on when its driver "
                                        "looks again (last: {})",
                                        recorded_reason)
                                  : engine::describe(holds);
  return fmt::format("held at {}'s gate since {} UTC: {}", env,
                     sys::format_utc(since, "%Y-%m-%d %H:%M"), why);
}

nlohmann::json HeldRun::to_json() const {
  nlohmann::json listed = nlohmann::json::array();
  for (const auto& h : holds) {
    listed.push_back(h.to_json());
  }
  return {{"env", env},
          {"since", ms_since_epoch(since)},
          {"holds", listed},
          {"reason", recorded_reason},
          {"message", describe()}};
}

Result<std::optional<HeldRun>> held_run(store::SqliteStore& store, const spec::Spec& spec,
                                        const store::Run& run, WallTime now) {
  if (run.status != store::RunStatus::running && run.status != store::RunStatus::queued) {
    return std::optional<HeldRun>();
  }
  auto stages = store.list_stages(run.id);
  if (!stages.ok()) {
    return stages.take_error();
  }
  const store::Stage* gate = nullptr;
  for (const auto& s : *stages) {
    if (s.name == "gate" && s.env && s.status == store::StageStatus::running) {
      gate = &s;
    }
  }
  const spec::Environment* env = gate != nullptr ? spec.find_environment(*gate->env) : nullptr;
  if (env == nullptr) {
    return std::optional<HeldRun>();
  }
  ZTP_ASSIGN_OR_RETURN(auto holds, holds_on(store, *env, now));
  HeldRun out;
  out.run_id = run.id;
  out.env = env->name;
  out.since = sys::from_unix_ms(gate->started_at.value_or(run.created_at));
  out.holds = std::move(holds);
  out.recorded_reason = run.reason;
  return std::optional<HeldRun>(std::move(out));
}

}  // namespace ztp::engine
