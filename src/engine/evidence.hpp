#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "spec/spec.hpp"
#include "store/sqlite_store.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

// The evidence bundle of an environment (ztp evidence): one tar.gz with what an incident
// review needs, gathered at once before anything changes. See docs/incidents.md.
namespace ztp::engine {

struct EvidenceRequest {
  std::string env;
  std::chrono::minutes window{30};  // proxy access-log lines of the last N minutes
  int runs = 10;                    // the environment's latest runs, with stages and events
  // The .tar.gz to write (replaced atomically); empty: ./evidence-ENV-<UTC time>.tar.gz.
  std::filesystem::path output;
  uint64_t log_tail_bytes = 1024 * 1024;  // of each replica log file
  // Of the access-log lines in `window`, the newest this many bytes are kept (across rotated
  // files); the README says what was cut.
  uint64_t access_log_bytes = 16 * 1024 * 1024;
};

// What the bundle is gathered from. `target_for` gives the target of an environment (the
// Workspace's); empty: no live observation and no fresh drift check.
struct EvidenceSources {
  const spec::Spec& spec;
  std::filesystem::path home;
  store::SqliteStore& store;
  Clock& clock;
  std::function<Result<target::Target*>(const std::string&)> target_for;
};

struct EvidenceBundle {
  std::filesystem::path file;
  std::string root;                // the directory every entry is under
  std::vector<std::string> parts;  // entry paths, relative to `root`
  std::vector<std::string> notes;  // what could not be gathered, and why
  uint64_t bytes = 0;              // of the .tar.gz
};

// Writes the bundle of `req.env`: README.md (the index, and notes on what is missing),
// spec/ (the spec file), store/ (runs with stages and events, the environment's events,
// releases, audit entries, holds, as JSON), releases/<revision>/ (image manifests and configs
// from the OCI layout store), replicas/ (the target's observation; each replica's status.json
// and log tails), proxy/ (the environment's routes and maintenance, and the access-log lines
// of the last `req.window`), drift/ (a fresh drift check, or the latest stored report when
// one cannot run). invalid for an unknown environment; internal when the file cannot be
// written. A part that cannot be gathered is noted, not fatal.
Result<EvidenceBundle> write_evidence(const EvidenceSources& src, const EvidenceRequest& req);

// The lines of a JSON access log (one object per line with "ts" in RFC 3339 UTC) stamped at
// or after `since`; lines without a readable "ts" are kept.
std::string access_log_since(std::istream& log, std::chrono::system_clock::time_point since);

// What access_log_window() keeps.
struct AccessLogWindow {
  std::string lines;  // oldest first
  std::string cut;    // what of the window was left out for the byte bound; empty: nothing
};

// The lines of the access log `log` and its rotated files (log.1, log.2, …, each older than
// the one before) stamped at or after `since`, but only the newest `max_bytes`: no more than
// that is read, however large the files are.
AccessLogWindow access_log_window(const std::filesystem::path& log,
                                  std::chrono::system_clock::time_point since, uint64_t max_bytes);

}  // namespace ztp::engine
