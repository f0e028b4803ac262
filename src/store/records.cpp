#include "store/records.hpp"

#include <array>
#include <utility>

namespace ztp::store {
namespace {

template <typename E, size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<Trigger, 4> k_triggers{{{Trigger::manual, "manual"},
                                        {Trigger::poll, "poll"},
                                        {Trigger::webhook, "webhook"},
                                        {Trigger::deploy, "deploy"}}};

constexpr Names<RunStatus, 7> k_run_statuses{{{RunStatus::queued, "queued"},
                                              {RunStatus::running, "running"},
                                              {RunStatus::awaiting_approval, "awaiting_approval"},
                                              {RunStatus::succeeded, "succeeded"},
                                              {RunStatus::failed, "failed"},
                                              {RunStatus::rolled_back, "rolled_back"},
                                              {RunStatus::cancelled, "cancelled"}}};

constexpr Names<StageStatus, 5> k_stage_statuses{{{StageStatus::pending, "pending"},
                                                  {StageStatus::running, "running"},
                                                  {StageStatus::succeeded, "succeeded"},
                                                  {StageStatus::failed, "failed"},
                                                  {StageStatus::skipped, "skipped"}}};

constexpr Names<ReleaseStatus, 6> k_release_statuses{{{ReleaseStatus::pending, "pending"},
                                                      {ReleaseStatus::deploying, "deploying"},
                                                      {ReleaseStatus::active, "active"},
                                                      {ReleaseStatus::failed, "failed"},
                                                      {ReleaseStatus::rolled_back, "rolled_back"},
                                                      {ReleaseStatus::superseded, "superseded"}}};

constexpr Names<ApprovalStatus, 3> k_approval_statuses{{{ApprovalStatus::pending, "pending"},
                                                        {ApprovalStatus::approved, "approved"},
                                                        {ApprovalStatus::rejected, "rejected"}}};

constexpr Names<Role, 3> k_roles{
    {{Role::viewer, "viewer"}, {Role::deployer, "deployer"}, {Role::admin, "admin"}}};

template <typename E, size_t N>
std::string_view name_of(const Names<E, N>& names, E v) {
  for (const auto& [value, name] : names) {
    if (value == v) {
      return name;
    }
  }
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> value_of(const Names<E, N>& names, std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) {
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Trigger v) { return name_of(k_triggers, v); }
std::string_view to_string(RunStatus v) { return name_of(k_run_statuses, v); }
std::string_view to_string(StageStatus v) { return name_of(k_stage_statuses, v); }
std::string_view to_string(ReleaseStatus v) { return name_of(k_release_statuses, v); }
std::string_view to_string(ApprovalStatus v) { return name_of(k_approval_statuses, v); }
std::string_view to_string(Role v) { return name_of(k_roles, v); }

std::optional<Trigger> parse_trigger(std::string_view text) { return value_of(k_triggers, text); }
std::optional<RunStatus> parse_run_status(std::string_view text) {
  return value_of(k_run_statuses, text);
}
std::optional<StageStatus> parse_stage_status(std::string_view text) {
  return value_of(k_stage_statuses, text);
}
std::optional<ReleaseStatus> parse_release_status(std::string_view text) {
  return value_of(k_release_statuses, text);
}
std::optional<ApprovalStatus> parse_approval_status(std::string_view text) {
  return value_of(k_approval_statuses, text);
}

std::optional<Role> parse_role(std::string_view text) { return value_of(k_roles, text); }

bool is_final(RunStatus v) {
  return v == RunStatus::succeeded || v == RunStatus::failed || v == RunStatus::rolled_back ||
         v == RunStatus::cancelled;
}

bool is_final(StageStatus v) {
  return v == StageStatus::succeeded || v == StageStatus::failed || v == StageStatus::skipped;
}

}  // namespace ztp::store
