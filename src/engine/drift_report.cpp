#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "engine/drift.hpp"
#include "sys/time.hpp"

namespace ztp::engine {
namespace {

std::string at_text(int64_t ms) {
  return sys::format_rfc3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

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
  switch (kind) {
    case DriftKind::router_down:
      return "router_down";
    case DriftKind::env_unrouted:
      return "env_unrouted";
    case DriftKind::route_weight:
      return "route_weight";
    case DriftKind::route_backends:
      return "route_backends";
    case DriftKind::replica_down:
      return "replica_down";
    case DriftKind::replica_unhealthy:
      return "replica_unhealthy";
    case DriftKind::replica_missing:
      return "replica_missing";
    case DriftKind::replica_extra:
      return "replica_extra";
    case DriftKind::release_mismatch:
      return "release_mismatch";
    case DriftKind::files_changed:
      return "files_changed";
    case DriftKind::config_changed:
      return "config_changed";
    case DriftKind::standby_degraded:
      return "standby_degraded";
    case DriftKind::standby_files_changed:
      return "standby_files_changed";
  }
  return "unknown";
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
