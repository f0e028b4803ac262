#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite_store.hpp"
#include "util/result.hpp"

// The post-incident report of a run or an environment (ztp report): a timeline from the
// store's events, the actions people and ztp took (audit log, rollbacks, isolation), and the
// releases involved. See docs/incidents.md.
namespace ztp::engine {

// The JSON of the store's records, as the report and the evidence bundle write them.
nlohmann::json record_json(const store::Run& r);
nlohmann::json record_json(const store::Stage& s);
nlohmann::json record_json(const store::Event& e);
nlohmann::json record_json(const store::Release& r);
nlohmann::json record_json(const store::AuditEntry& a);
nlohmann::json record_json(const store::EnvHold& h);

// A JSON array of the record_json of each of `records`.
template <typename Record>
nlohmann::json record_json_list(const std::vector<Record>& records) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : records) {
    list.push_back(record_json(r));
  }
  return list;
}

// What a report is about: one run, or one environment over a time span.
struct ReportSubject {
  std::optional<int64_t> run_id;
  std::string env;       // when no run
  int64_t since_ms = 0;  // environment reports: events from here on
  int64_t until_ms = 0;  // 0: now
};

// Reads "12" (a run) or "prod" (an environment). invalid for neither.
Result<ReportSubject> parse_report_subject(const std::string& text);

struct IncidentReport {
  std::string title;
  ReportSubject subject;
  int64_t generated_at = 0;
  std::optional<store::Run> run;
  std::vector<store::Stage> stages;
  std::vector<std::string> envs;           // the environments involved
  std::vector<store::Event> timeline;      // oldest first
  std::vector<store::AuditEntry> actions;  // oldest first
  std::vector<store::Release> releases;    // involved, newest first per environment
  std::vector<store::EnvHold> isolations;  // holds in place when the report was written
  std::vector<store::EnvHold> freezes;

  nlohmann::json to_json() const;
  std::string to_markdown() const;
};

// Gathers the report of `subject` from the store; `now_ms` stamps it. A run's report spans
// the run's life (created to finished, or now); an environment's spans since_ms..until_ms.
// not_found for an unknown run.
Result<IncidentReport> build_incident_report(store::SqliteStore& store,
                                             const ReportSubject& subject, int64_t now_ms);

}  // namespace ztp::engine
