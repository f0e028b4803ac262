#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>

#include "engine/drift.hpp"
#include "sys/time.hpp"

namespace ztp::engine {
namespace {

// The names of the drift kinds, in the order DriftKind declares them.
constexpr std::array<std::string_view, 13> k_kind_names{
    "router_down",          "env_unrouted",      "route_weight",    "route_backends",
    "replica_down",         "replica_unhealthy", "replica_missing", "replica_extra",
    "release_mismatch",     "files_changed",     "config_changed",  "standby_degraded",
    "standby_files_changed"};
static_assert(k_kind_names.size() == static_cast<size_t>(DriftKind::standby_files_changed) + 1);

std::string at_text(int64_t ms) { return sys::format_rfc3339(sys::from_unix_ms(ms)); }

// A table cell: one line, pipes escaped.
std::string cell(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

void markdown_table(std::string& out, const std::vector<DriftFinding>& findings, bool outcomes) {
  out += outcomes ? "| kind | where | expected | observed | fix | outcome |\n"
                    "|---|---|---|---|---|---|\n"
                  : "| kind | where | expected | observed | --fix would |\n"
                    "|---|---|---|---|---|\n";
  for (const auto& f : findings) {
    out += fmt::format("| {} | {} | {} | {} | {} |", drift_kind_name(f.kind), cell(f.where),
                       cell(f.expected), cell(f.observed), cell(f.fix));
    out += outcomes ? fmt::format(" {} |\n", cell(f.outcome)) : "\n";
  }
}

}  // namespace

std::string_view drift_kind_name(DriftKind kind) {
  auto index = static_cast<size_t>(kind);
  return index < k_kind_names.size() ? k_kind_names[index] : "unknown";
}

nlohmann::json DriftFinding::to_json() const {
  nlohmann::json j{{"kind", drift_kind_name(kind)}, {"where", where}, {"expected", expected},
                   {"observed", observed},          {"fix", fix},     {"replicas", replicas}};
  if (!outcome.empty()) {
    j["outcome"] = outcome;
  }
  return j;
}

int DriftReport::refused() const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [](const auto& f) {
    return f.outcome.rfind("refused", 0) == 0;
  }));
}

nlohmann::json DriftReport::to_json() const {
  nlohmann::json j{{"env", env},
                   {"at", at_text(at_ms)},
                   {"trigger", trigger},
                   {"in_sync", in_sync()},
                   {"desired",
                    {{"revision", revision ? nlohmann::json(*revision) : nlohmann::json()},
                     {"digest", digest},
                     {"replicas", desired_replicas},
                     {"weights", desired_weights}}},
                   {"isolated", nullptr},
                   {"findings", nlohmann::json::array()}};
  if (isolated) {
    j["isolated"] = {
        {"reason", isolated->reason}, {"actor", isolated->actor}, {"at", at_text(isolated->at)}};
  }
  for (const auto& f : findings) {
    j["findings"].push_back(f.to_json());
  }
  if (fix_ran) {
    j["fix"] = {
        {"repaired", repaired()}, {"refused", refused()}, {"remaining", nlohmann::json::array()}};
    for (const auto& f : remaining) {
      j["fix"]["remaining"].push_back(f.to_json());
    }
  }
  if (stored_id) {
    j["report_id"] = *stored_id;
  }
  return j;
}

std::string DriftReport::to_markdown() const {
  std::string out = fmt::format("# Drift report: {}\n\n", env);
  out += fmt::format("- checked: {} ({})\n", at_text(at_ms), trigger);
  if (revision) {
    std::vector<std::string> weights;
    for (const auto& [release, w] : desired_weights) {
      weights.push_back(fmt::format("{}: {}%", release, w));
    }
    out += fmt::format("- desired: release {} ({}), {} replica{}, weights {}\n", *revision, digest,
                       desired_replicas, desired_replicas == 1 ? "" : "s",
                       weights.empty() ? "none" : fmt::format("{}", fmt::join(weights, ", ")));
  } else {
    out += "- desired: nothing (no active release)\n";
  }
  if (isolated) {
    out += fmt::format(
        "- isolated since {} by {}: {} (not repaired back into serving; `ztp "
        "restore {}` ends it)\n",
        at_text(isolated->at), isolated->actor, isolated->reason, env);
  }
  if (in_sync()) {
    out += "\n**In sync**: what runs is what the store asks for.\n";
    return out;
  }
  out += fmt::format("\n**Drift**: {} finding{}.\n\n", findings.size(),
                     findings.size() == 1 ? "" : "s");
  markdown_table(out, findings, fix_ran);
  if (fix_ran) {
    if (repaired()) {
      out += "\n**Repaired**: a second check found nothing.\n";
    } else {
      out += fmt::format("\n**Not repaired**: {} refused; a second check still found {}:\n\n",
                         refused(), remaining.size());
      markdown_table(out, remaining, false);
    }
  }
  return out;
}

}  // namespace ztp::engine
