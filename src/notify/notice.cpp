#include "notify/notice.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

namespace ztp::notify {
namespace {

// Each kind with its name and what a headline says it did.
struct KindName {
  NoticeKind kind;
  std::string_view name;
  std::string_view verb;
};

constexpr std::array<KindName, 6> k_names{{
    {NoticeKind::run_started, "run_started", "started"},
    {NoticeKind::run_succeeded, "run_succeeded", "succeeded"},
    {NoticeKind::run_failed, "run_failed", "failed"},
    {NoticeKind::awaiting_approval, "awaiting_approval", "waits for approval"},
    {NoticeKind::rolled_back, "rolled_back", "rolled back"},
    {NoticeKind::drift_found, "drift_found", "found drift"},
}};

const KindName& kind_name(NoticeKind kind) {
  for (const auto& k : k_names) {
    if (k.kind == kind) {
      return k;
    }
  }
  return k_names.front();
}

// The store events announced, by their kind.
constexpr std::array<std::pair<std::string_view, NoticeKind>, 8> k_event_kinds{{
    {"run.started", NoticeKind::run_started},
    {"run.succeeded", NoticeKind::run_succeeded},
    {"run.failed", NoticeKind::run_failed},
    {"gate.waiting", NoticeKind::awaiting_approval},
    {"rollout.rolled_back", NoticeKind::rolled_back},
    {"rollback.succeeded", NoticeKind::rolled_back},
    {"reconcile.restored", NoticeKind::rolled_back},
    {"drift.found", NoticeKind::drift_found},
}};

std::optional<NoticeKind> kind_of_event(std::string_view kind) {
  for (const auto& [event, notice] : k_event_kinds) {
    if (event == kind) {
      return notice;
    }
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
  std::vector<store::Stage> stages;
  ZTP_ASSIGN_OR_RETURN(stages, store.list_stages(*n.run_id));
  for (const auto& s : stages) {
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
  std::vector<store::AuditEntry> audit;
  ZTP_ASSIGN_OR_RETURN(audit, store.list_audit(50));
  for (const auto& a : audit) {
    if (a.action == "rollback" && a.target == "env " + *n.env && a.at <= event.at) {
      n.actor = a.actor;
      break;
    }
  }
  return {};
}

}  // namespace

std::string_view to_string(NoticeKind kind) { return kind_name(kind).name; }

std::optional<NoticeKind> parse_notice_kind(std::string_view name) {
  for (const auto& k : k_names) {
    if (k.name == name) {
      return k.kind;
    }
  }
  return std::nullopt;
}

const std::vector<NoticeKind>& all_notice_kinds() {
  static const std::vector<NoticeKind> kinds = [] {
    std::vector<NoticeKind> out;
    for (const auto& entry : k_names) {
      out.push_back(entry.kind);
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
  std::string what(kind_name(n.kind).verb);
  if (n.env && n.kind != NoticeKind::run_started && n.kind != NoticeKind::run_succeeded) {
    what += " in " + *n.env;
  }
  if (n.kind == NoticeKind::rolled_back && !n.actor.empty()) {
    what += " by " + n.actor;
  }
  if (n.kind == NoticeKind::rolled_back && !n.reason.empty()) {
    what += " (" + n.reason + ")";
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
