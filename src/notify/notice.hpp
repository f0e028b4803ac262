#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "util/result.hpp"

// What people are told about, as derived from the store's events. docs/notifications.md lists
// the events and what each channel sends for them.
namespace ztp::notify {

// The announced events, by their names in ztp.yaml's `notify[].events` filter.
enum class NoticeKind {
  run_started,
  run_succeeded,
  run_failed,
  awaiting_approval,
  rolled_back,
  drift_found
};

// "run_started", "awaiting_approval", ...
std::string_view to_string(NoticeKind kind);
// Inverse of to_string; nullopt for an unknown name.
std::optional<NoticeKind> parse_notice_kind(std::string_view name);
// Every kind, in declaration order.
const std::vector<NoticeKind>& all_notice_kinds();

// One thing to announce.
struct Notice {
  NoticeKind kind = NoticeKind::run_started;
  std::string app;
  std::optional<std::string> env;  // the environment concerned (for a failed run: where it failed)
  std::optional<int64_t> run_id;
  std::string commit_sha;  // of the run, when there is one ("" otherwise)
  std::string short_sha;
  // rolled_back: true for a rollback someone asked for (`ztp rollback`, the API), false for
  // one the pipeline made (a failed rollout or watch, a reconcile).
  bool manual = false;
  std::string actor;        // manual: who (the CLI user or the API token's name)
  std::string reason;       // manual: why (their reason, else "manual rollback to revision N")
  bool production = false;  // env is the last environment of the pipeline (dev → qa → prod)
  std::string message;      // what happened, in words (the event's message)
  int64_t at = 0;           // unix ms
  int64_t event_id = 0;     // the store event announced (0: none)
  // run_succeeded: the environments the run rolled out (their open incidents are resolved).
  std::vector<std::string> environments;
};

// One line for people: "sample-site run 12 (abc1234) failed in prod: ...", or for a manual
// rollback "sample-site rolled back in dev by alice (manual rollback to revision 3): ...".
std::string headline(const Notice& n);

// The notice store event `event` of `spec`'s application announces, reading the run it
// belongs to from `store`; nullopt for the events nobody is told about (stage.started,
// replica.healthy, ...). Mapping: run.started, run.succeeded, run.failed; gate.waiting ->
// awaiting_approval; rollout.rolled_back, reconcile.restored -> rolled_back;
// rollback.succeeded (ztp rollback) -> a manual rolled_back, with its actor and reason from the
// event's data (else from the audit log); drift.found.
Result<std::optional<Notice>> notice_for(store::SqliteStore& store, const spec::Spec& spec,
                                         const store::Event& event);

}  // namespace ztp::notify
