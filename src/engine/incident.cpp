#include "engine/incident.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "sys/time.hpp"
#include "target/local/maintenance.hpp"

namespace ztp::engine {
namespace {

Result<target::local::LocalTarget*> local_of(target::Target& target, const std::string& env) {
  auto* local = dynamic_cast<target::local::LocalTarget*>(&target);
  if (local == nullptr) {
    return make_error(Errc::invalid,
                      fmt::format("environment {}: its target has no maintenance mode; isolate "
                                  "works on the local target",
                                  env));
  }
  return local;
}

std::string when(int64_t ms) { return sys::format_rfc3339(sys::from_unix_ms(ms)); }

}  // namespace

Result<Isolation> isolate(store::SqliteStore& store, target::Target& target,
                          const IsolateRequest& req) {
  if (req.reason.empty()) {
    return make_error(Errc::invalid,
                      fmt::format("isolating {} needs a reason: pass --reason TEXT", req.env));
  }
  auto local = local_of(target, req.env);
  ZTP_TRY(local);
  auto before = store.get_isolation(req.env);
  ZTP_TRY(before);
  auto page = target::local::enter_maintenance(**local, req.env, req.message, req.retry_after_s);
  ZTP_TRY(page);
  auto hold = store.set_isolation(req.env, req.reason, req.actor);
  ZTP_TRY(hold);
  nlohmann::json data{{"reason", req.reason},
                      {"actor", req.actor},
                      {"retry_after_s", page->retry_after_s},
                      {"since_ms", page->since_ms}};
  ZTP_TRY(store.append_event({std::nullopt, req.env, "env.isolated",
                              fmt::format("{} isolated by {}: {}", req.env, req.actor, req.reason),
                              data.dump()}));
  ZTP_TRY(store.append_audit(req.actor, "isolate", "env " + req.env, req.reason));
  return Isolation{*hold, before->has_value(), page->since_ms};
}

Result<Restoration> lift_isolation(store::SqliteStore& store, target::Target& target,
                                   const std::string& env, const std::string& actor) {
  auto local = local_of(target, env);
  ZTP_TRY(local);
  auto held = store.get_isolation(env);
  ZTP_TRY(held);
  auto page_was_up = target::local::leave_maintenance(**local, env);
  ZTP_TRY(page_was_up);
  if (!held->has_value() && !*page_was_up) {
    return make_error(Errc::not_found, fmt::format("environment {} is not isolated", env));
  }
  ZTP_TRY(store.clear_isolation(env));
  std::string detail = held->has_value()
                           ? fmt::format("isolated since {} by {}: {}", when((*held)->at),
                                         (*held)->actor, (*held)->reason)
                           : std::string(
                                 "the front door was in maintenance with no isolation "
                                 "recorded");
  ZTP_TRY(store.append_event({std::nullopt, env, "env.restored",
                              fmt::format("{} restored by {}; {}", env, actor, detail),
                              nlohmann::json{{"actor", actor}}.dump()}));
  ZTP_TRY(store.append_audit(actor, "restore", "env " + env, detail));
  return Restoration{*held, *page_was_up};
}

Result<void> check_not_isolated(store::SqliteStore& store, const std::string& env) {
  auto held = store.get_isolation(env);
  ZTP_TRY(held);
  if (!held->has_value()) {
    return {};
  }
  const auto& h = **held;
  return make_error(Errc::refused,
                    fmt::format("environment {} is isolated (since {}, by {}: {}); deploys to it "
                                "are refused until `ztp restore {}`",
                                env, when(h.at), h.actor, h.reason, env));
}

}  // namespace ztp::engine
