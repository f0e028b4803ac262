#include "notify/notice.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

namespace ztp::notify {
namespace {

constexpr std::array<std::pair<NoticeKind, std::string_view>, 6> k_names{{
    {NoticeKind::run_started, "run_started"},
    {NoticeKind::run_succeeded, "run_succeeded"},
    {NoticeKind::run_failed, "run_failed"},
    {NoticeKind::awaiting_approval, "awaiting_approval"},
    {NoticeKind::rolled_back, "rolled_back"},
    {NoticeKind::drift_found, "drift_found"},
}};

std::optional<NoticeKind> kind_of_event(std::string_view kind) {
  if (kind == "run.started") {
    return NoticeKind::run_started;
  }
  if (kind == "run.succeeded") {
    return NoticeKind::run_succeeded;
  }
  if (kind == "run.failed") {
    return NoticeKind::run_failed;
  }
  if (kind == "gate.waiting") {
    return NoticeKind::awaiting_approval;
  }
  if (kind == "rollout.rolled_back" || kind == "rollback.succeeded" ||
      kind == "reconcile.restored") {
    return NoticeKind::rolled_back;
  }
  if (kind == "drift.found") {
    return NoticeKind::drift_found;
  }
  return std::nullopt;
}

// Fills the run's commit and, for a failed or succeeded run, the environments concerned.
Result<void> add_run_details(store::SqliteStore& store, Notice& n) {
  auto run = store.get_run(*n.run_id);
  if (!run.ok()) {
    if (run.error().code == Errc::not_found) {
      return {};
    }
    return run.take_error();
  }
  n.commit_sha = run->commit_sha;
  n.short_sha = run->short_sha;
  if (n.env || (n.kind != NoticeKind::run_failed && n.kind != NoticeKind::run_succeeded)) {
    return {};
  }
  auto stages = store.list_stages(*n.run_id);
  if (!stages.ok()) {
    return stages.take_error();
  }
  for (const auto& s : *stages) {
    if (!s.env) {
      continue;
    }
    if (n.kind == NoticeKind::run_failed && s.status == store::StageStatus::failed) {
      n.env = s.env;  // the last failed stage wins: where the run stopped
    }
    if (n.kind == NoticeKind::run_succeeded && s.name == "rollout" &&
        s.status == store::StageStatus::succeeded &&
        std::find(n.environments.begin(), n.environments.end(), *s.env) == n.environments.end()) {
      n.environments.push_back(*s.env);
    }
  }
  return {};
}

// Who rolled back and why, from the rollback.succeeded event's data; the actor falls back to
// the newest rollback of the environment in the audit log (events written before the data
// carried it).
Result<void> add_rollback_details(store::SqliteStore& store, const store::Event& event, Notice& n) {
  n.manual = true;
  auto data = nlohmann::json::parse(event.data, nullptr, false);
  if (!data.is_object()) {
    data = nlohmann::json::object();
  }
  auto text = [&](const char* key) {
    auto it = data.find(key);
    return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  n.actor = text("actor");
  n.reason = text("reason");
  if (n.reason.empty()) {
    auto revision = data.find("revision");
    n.reason = revision != data.end() && revision->is_number_integer()
                   ? fmt::format("manual rollback to revision {}", revision->get<int64_t>())
                   : std::string("manual rollback");
  }
  if (!n.actor.empty() || !n.env) {
    return {};
  }
  auto audit = store.list_audit(50);
  if (!audit.ok()) {
    return audit.take_error();
  }
  for (const auto& a : *audit) {
    if (a.action == "rollback" && a.target == "env " + *n.env && a.at <= event.at) {
      n.actor = a.actor;
      break;
    }
  }
  return {};
}

}  // namespace

std::string_view to_string(NoticeKind kind) {
  for (const auto& [k, name] : k_names) {
    if (k == kind) {
      return name;
    }
  }
  return "run_started";
}

std::optional<NoticeKind> parse_notice_kind(std::string_view name) {
  for (const auto& [k, n] : k_names) {
    if (n == name) {
      return k;
    }
  }
  return std::nullopt;
}

const std::vector<NoticeKind>& all_notice_kinds() {
  static const std::vector<NoticeKind> kinds = [] {
    std::vector<NoticeKind> out;
    for (const auto& entry : k_names) {
      out.push_back(entry.first);
    }
    return out;
  }();
  return kinds;
}

std::string headline(const Notice& n) {
  std::string who = n.app;
  if (n.run_id) {
    who += fmt::format(" run {}", *n.run_id);
  }
  if (!n.short_sha.empty()) {
    who += fmt::format(" ({})", n.short_sha);
  }
  std::string where = n.env ? " in " + *n.env : std::string();
  std::string what;
  switch (n.kind) {
    case NoticeKind::run_started:
      what = "started";
      break;
    case NoticeKind::run_succeeded:
      what = "succeeded";
      break;
    case NoticeKind::run_failed:
      what = "failed" + where;
      break;
    case NoticeKind::awaiting_approval:
      what = "waits for approval" + where;
      break;
    case NoticeKind::rolled_back:
      what = "rolled back" + where;
      if (!n.actor.empty()) {
        what += " by " + n.actor;
      }
      if (!n.reason.empty()) {
        what += " (" + n.reason + ")";
      }
      break;
    case NoticeKind::drift_found:
      what = "found drift" + where;
      break;
  }
  std::string line = who + " " + what;
  if (!n.message.empty()) {
    line += ": " + n.message;
  }
  return line;
}

Result<std::optional<Notice>> notice_for(store::SqliteStore& store, const spec::Spec& spec,
                                         const store::Event& event) {
  auto kind = kind_of_event(event.kind);
  if (!kind) {
    return std::optional<Notice>();
  }
  Notice n;
  n.kind = *kind;
  n.app = spec.app;
  n.env = event.env;
  n.production = n.env && !spec.environments.empty() && spec.environments.back().name == *n.env;
  n.run_id = event.run_id;
  n.message = event.message;
  n.at = event.at;
  n.event_id = event.id;
  if (n.run_id) {
    ZTP_TRY(add_run_details(store, n));
  }
  if (event.kind == "rollback.succeeded") {
    ZTP_TRY(add_rollback_details(store, event, n));
  }
  return std::optional<Notice>(std::move(n));
}

}  // namespace ztp::notify
