#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/sqlite_store.hpp"
#include "target/target.hpp"
#include "util/result.hpp"

// Isolating an environment during an incident (docs/incidents.md): its front door answers a
// maintenance page with 503 and Retry-After, its replicas keep running for forensics, and
// deploys to it are refused until it is restored.
namespace ztp::engine {

struct IsolateRequest {
  std::string env;
  std::string reason;  // required: why (kept in the store, the audit log and the events)
  std::string actor = "cli";
  std::string message;  // the public page's sentence; empty: a generic one (not the reason)
  int retry_after_s = 300;
};

struct Isolation {
  store::EnvHold hold;        // as stored
  bool already = false;       // it was isolated before (the reason and page were replaced)
  int64_t page_since_ms = 0;  // when the front door's maintenance page went up
};

// Puts the front door of `req.env` in maintenance through its target, then records the
// isolation in the store, an "env.isolated" event and an audit entry. invalid without a
// reason or for a target with no maintenance mode; not_found when nothing is deployed there.
Result<Isolation> isolate(store::SqliteStore& store, target::Target& target,
                          const IsolateRequest& req);

struct Restoration {
  std::optional<store::EnvHold> was;  // the isolation lifted (none: the store had none)
  bool page_was_up = false;           // the front door was in maintenance
};

// Takes the front door of `env` out of maintenance and lifts the isolation in the store, with
// an "env.restored" event and an audit entry. not_found when the environment was neither
// isolated in the store nor in maintenance at its front door.
Result<Restoration> lift_isolation(store::SqliteStore& store, target::Target& target,
                                   const std::string& env, const std::string& actor = "cli");

// Errc::refused (exit 14) naming the isolation, who set it and how to lift it when `env` is
// isolated; success otherwise. Deploys and runs call it before they touch the environment.
Result<void> check_not_isolated(store::SqliteStore& store, const std::string& env);

}  // namespace ztp::engine
