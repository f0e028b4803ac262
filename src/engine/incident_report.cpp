#include "engine/incident_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "sys/time.hpp"

namespace ztp::engine {
namespace {

using nlohmann::json;

json optional_ms(const std::optional<int64_t>& v) { return v ? json(*v) : json(); }

std::string when(int64_t ms) { return sys::format_rfc3339(sys::from_unix_ms(ms)); }

// A table cell: one line, pipes escaped.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string duration_text(int64_t ms) {
  int64_t s = ms / 1000;
  if (s < 60) {
    return fmt::format("{} s", s);
  }
  if (s < 3600) {
    return fmt::format("{} min {} s", s / 60, s % 60);
  }
  return fmt::format("{} h {} min", s / 3600, s % 3600 / 60);
}

bool in_span(int64_t at, int64_t since, int64_t until) { return at >= since && at <= until; }

bool is_rollback(const store::Event& e) {
  return e.kind.find("rollback") != std::string::npos ||
         e.kind.find("rolled_back") != std::string::npos;
}

}  // namespace

json record_json(const store::Run& r) {
  return json{{"id", r.id},
              {"app", r.app},
              {"commit_sha", r.commit_sha},
              {"short_sha", r.short_sha},
              {"trigger", store::to_string(r.trigger)},
              {"status", store::to_string(r.status)},
              {"reason", r.reason},
              {"interrupted", r.interrupted},
              {"digest", r.digest},
              {"until_env", r.until_env},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at},
              {"finished_at", optional_ms(r.finished_at)}};
}

json record_json(const store::Stage& s) {
  return json{{"id", s.id},
              {"run_id", s.run_id},
              {"name", s.name},
              {"env", s.env ? json(*s.env) : json()},
              {"status", store::to_string(s.status)},
              {"detail", s.detail},
              {"started_at", optional_ms(s.started_at)},
              {"finished_at", optional_ms(s.finished_at)}};
}

json record_json(const store::Event& e) {
  json data = json::parse(e.data, nullptr, false);
  return json{{"id", e.id},
              {"run_id", optional_ms(e.run_id)},
              {"env", e.env ? json(*e.env) : json()},
              {"kind", e.kind},
              {"message", e.message},
              {"data", data.is_discarded() ? json(e.data) : data},
              {"at", e.at}};
}

json record_json(const store::Release& r) {
  return json{{"env", r.env},
              {"revision", r.revision},
              {"digest", r.digest},
              {"image_ref", r.image_ref},
              {"short_sha", r.short_sha},
              {"config_hash", r.config_hash},
              {"replicas", r.replicas},
              {"strategy", r.strategy},
              {"status", store::to_string(r.status)},
              {"run_id", optional_ms(r.run_id)},
              {"created_at", r.created_at},
              {"activated_at", optional_ms(r.activated_at)}};
}

json record_json(const store::AuditEntry& a) {
  return json{{"id", a.id},         {"at", a.at},         {"actor", a.actor},
              {"action", a.action}, {"target", a.target}, {"detail", a.detail}};
}

json record_json(const store::EnvHold& h) {
  return json{{"env", h.env}, {"reason", h.reason}, {"actor", h.actor}, {"at", h.at}};
}

Result<ReportSubject> parse_report_subject(const std::string& text) {
  ReportSubject s;
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 18) {
      return make_error(Errc::invalid, fmt::format("run id {} is out of range", text));
    }
    s.run_id = std::stoll(text);
    return s;
  }
  if (text.empty()) {
    return make_error(Errc::invalid, "name a run id (ztp history) or an environment");
  }
  s.env = text;
  return s;
}

Result<IncidentReport> build_incident_report(store::SqliteStore& store,
                                             const ReportSubject& subject, int64_t now_ms) {
  IncidentReport rep;
  rep.subject = subject;
  rep.generated_at = now_ms;
  int64_t since = subject.since_ms;
  int64_t until = subject.until_ms > 0 ? subject.until_ms : now_ms;
  std::set<std::string> envs;
  std::set<int64_t> runs;

  if (subject.run_id) {
    auto run = store.get_run(*subject.run_id);
    ZTP_TRY(run);
    rep.run = *run;
    since = run->created_at;
    until = run->finished_at.value_or(now_ms);
    auto stages = store.list_stages(run->id);
    ZTP_TRY(stages);
    rep.stages = std::move(*stages);
    for (const auto& s : rep.stages) {
      if (s.env) {
        envs.insert(*s.env);
      }
    }
    auto events = store.list_events({.run_id = run->id, .env = {}, .limit = 0});
    ZTP_TRY(events);
    rep.timeline = std::move(*events);
    runs.insert(run->id);
    rep.title = fmt::format("run {} of {} ({})", run->id, run->app, run->short_sha);
  } else {
    envs.insert(subject.env);
    auto events = store.list_events({.run_id = {}, .env = subject.env, .limit = 0});
    ZTP_TRY(events);
    for (auto& e : *events) {
      if (in_span(e.at, since, until)) {
        if (e.run_id) {
          runs.insert(*e.run_id);
        }
        rep.timeline.push_back(std::move(e));
      }
    }
    // The run-level events (no environment) of the runs that touched it.
    for (int64_t id : runs) {
      auto run_events = store.list_events({.run_id = id, .env = {}, .limit = 0});
      ZTP_TRY(run_events);
      for (auto& e : *run_events) {
        if (!e.env && in_span(e.at, since, until)) {
          rep.timeline.push_back(std::move(e));
        }
      }
    }
    std::sort(rep.timeline.begin(), rep.timeline.end(),
              [](const store::Event& a, const store::Event& b) { return a.id < b.id; });
    rep.title = fmt::format("environment {}", subject.env);
  }
  // The span as covered, whatever the subject: the report says where it starts and ends.
  rep.subject.since_ms = since;
  rep.subject.until_ms = until;
  rep.envs.assign(envs.begin(), envs.end());

  // Actions: the audit entries about the run, its runs or its environments, in the span.
  auto audit = store.list_audit(0);
  ZTP_TRY(audit);
  for (auto it = audit->rbegin(); it != audit->rend(); ++it) {
    bool about = false;
    for (const auto& e : envs) {
      about = about || it->target == "env " + e;
    }
    for (int64_t id : runs) {
      about = about || it->target == fmt::format("run {}", id);
    }
    if (about && in_span(it->at, since, until)) {
      rep.actions.push_back(*it);
    }
  }

  for (const auto& env : rep.envs) {
    auto releases = store.list_releases(env, 200);
    ZTP_TRY(releases);
    for (const auto& r : *releases) {
      bool involved =
          rep.run ? r.run_id == rep.run->id
                  : in_span(r.created_at, since, until) || r.status == store::ReleaseStatus::active;
      // A release activated in the span (a rollback's target) is involved too.
      involved = involved || (r.activated_at && in_span(*r.activated_at, since, until));
      if (involved) {
        rep.releases.push_back(r);
      }
    }
    auto isolation = store.get_isolation(env);
    ZTP_TRY(isolation);
    if (*isolation) {
      rep.isolations.push_back(**isolation);
    }
    auto freeze = store.get_freeze(env);
    ZTP_TRY(freeze);
    if (*freeze) {
      rep.freezes.push_back(**freeze);
    }
  }
  return rep;
}

json IncidentReport::to_json() const {
  json j{{"title", title},
         {"generated_at", generated_at},
         {"since", subject.since_ms},
         {"until", subject.until_ms},
         {"run", run ? record_json(*run) : json()},
         {"environments", envs}};
  j["stages"] = record_json_list(stages);
  j["timeline"] = record_json_list(timeline);
  j["actions"] = record_json_list(actions);
  j["releases"] = record_json_list(releases);
  j["isolations"] = record_json_list(isolations);
  j["freezes"] = record_json_list(freezes);
  return j;
}

std::string IncidentReport::to_markdown() const {
  std::string md = fmt::format("# Post-incident report: {}\n\n", title);
  md += fmt::format("Generated {}. Covers {} to {}.\n\n", when(generated_at),
                    when(subject.since_ms), when(subject.until_ms));

  md += "## Summary\n\n";
  if (run) {
    md += fmt::format("- Run {}: **{}**{}\n", run->id, store::to_string(run->status),
                      run->reason.empty() ? "" : " — " + run->reason);
    md += fmt::format("- Commit {} (trigger {}), image {}\n", run->commit_sha,
                      store::to_string(run->trigger),
                      run->digest.empty() ? "not built" : run->digest);
    md += fmt::format("- Started {}, {}\n", when(run->created_at),
                      run->finished_at
                          ? fmt::format("finished {} after {}", when(*run->finished_at),
                                        duration_text(*run->finished_at - run->created_at))
                          : std::string("not finished"));
  }
  md += fmt::format("- Environments: {}\n",
                    envs.empty() ? "none" : fmt::format("{}", fmt::join(envs, ", ")));
  md += fmt::format("- {} events, {} actions, {} releases involved\n", timeline.size(),
                    actions.size(), releases.size());
  for (const auto& h : isolations) {
    md += fmt::format("- **{} is isolated** since {} by {}: {}\n", h.env, when(h.at), h.actor,
                      h.reason);
  }
  for (const auto& h : freezes) {
    md += fmt::format("- {} is frozen since {} by {}: {}\n", h.env, when(h.at), h.actor, h.reason);
  }

  md += "\n## Timeline\n\n";
  if (timeline.empty()) {
    md += "No events were recorded in this span.\n";
  } else {
    md += "| time (UTC) | env | event | what happened |\n|---|---|---|---|\n";
    for (const auto& e : timeline) {
      md += fmt::format("| {} | {} | `{}` | {} |\n", when(e.at), e.env.value_or("—"), e.kind,
                        cell(e.message));
    }
  }

  md += "\n## Actions taken\n\n";
  if (actions.empty()) {
    md += "No action was recorded in the audit log in this span.\n";
  } else {
    md += "| time (UTC) | who | action | on | detail |\n|---|---|---|---|---|\n";
    for (const auto& a : actions) {
      md += fmt::format("| {} | {} | {} | {} | {} |\n", when(a.at), cell(a.actor), cell(a.action),
                        cell(a.target), cell(a.detail));
    }
  }
  std::vector<std::string> rollbacks;
  for (const auto& e : timeline) {
    if (is_rollback(e)) {
      rollbacks.push_back(fmt::format("- {} `{}`: {}", when(e.at), e.kind, e.message));
    }
  }
  for (const auto& r : releases) {
    if (r.status == store::ReleaseStatus::rolled_back) {
      rollbacks.push_back(fmt::format("- {} revision {} ({}) was rolled back", r.env, r.revision,
                                      r.short_sha.empty() ? r.digest : r.short_sha));
    }
  }
  md += "\n### Rollbacks\n\n";
  md += rollbacks.empty() ? "None.\n" : fmt::format("{}\n", fmt::join(rollbacks, "\n"));

  md += "\n## Releases involved\n\n";
  if (releases.empty()) {
    md += "None.\n";
  } else {
    md +=
        "| env | revision | commit | image | strategy | status | created | activated |\n"
        "|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : releases) {
      md += fmt::format("| {} | {} | {} | `{}` | {} | {} | {} | {} |\n", r.env, r.revision,
                        r.short_sha, r.digest, r.strategy, store::to_string(r.status),
                        when(r.created_at), r.activated_at ? when(*r.activated_at) : "—");
    }
  }

  if (run) {
    md +=
        "\n## Stages\n\n| stage | env | status | started | finished | detail |\n"
        "|---|---|---|---|---|---|\n";
    for (const auto& s : stages) {
      md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", s.name, s.env.value_or("—"),
                        store::to_string(s.status), s.started_at ? when(*s.started_at) : "—",
                        s.finished_at ? when(*s.finished_at) : "—", cell(s.detail));
    }
  }
  return md;
}

}  // namespace ztp::engine
