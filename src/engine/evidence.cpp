#include "engine/evidence.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "artifact/oci_layout_store.hpp"
#include "engine/drift.hpp"
#include "engine/incident_report.hpp"
#include "spec/mask.hpp"
#include "sys/time.hpp"
#include "target/local/local_target.hpp"
#include "target/local/replica_status.hpp"
#include "util/fs.hpp"

namespace ztp::engine {
namespace {

using nlohmann::json;
namespace sfs = std::filesystem;

// The entries of the bundle, gathered in memory before anything is written.
struct Parts {
  std::vector<std::pair<std::string, std::string>> files;  // path under the root, content
  std::vector<std::string> notes;

  void add(std::string path, std::string content) {
    files.emplace_back(std::move(path), std::move(content));
  }
  void add_json(std::string path, const json& j) { add(std::move(path), j.dump(2) + "\n"); }
  void note(std::string text) { notes.push_back(std::move(text)); }
};

// The last `max` bytes of the open file `in`, and the offset in the file they start at.
std::pair<std::string, uint64_t> read_last(std::ifstream& in, uint64_t max) {
  in.seekg(0, std::ios::end);
  auto size = static_cast<uint64_t>(in.tellg());
  uint64_t from = size > max ? size - max : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(size - from, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return {std::move(text), from};
}

// The last `max` bytes of `path` (from a line start when cut).
Result<std::string> tail_file(const sfs::path& path, uint64_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Errc::not_found, fmt::format("cannot read {}", path.string()));
  }
  auto [text, from] = read_last(in, max);
  if (from > 0) {
    auto nl = text.find('\n');
    text = fmt::format("[... {} earlier bytes not included]\n{}", from + nl + 1,
                       nl == std::string::npos ? text : text.substr(nl + 1));
  }
  return text;
}

// The "ts" of an access-log line (one JSON object), or "" when it has none.
std::string access_line_time(std::string_view line) {
  constexpr std::string_view k_prefix = "{\"ts\":\"";
  if (line.substr(0, k_prefix.size()) == k_prefix) {
    auto end = line.find('"', k_prefix.size());
    return std::string(line.substr(k_prefix.size(), end == std::string_view::npos
                                                        ? std::string_view::npos
                                                        : end - k_prefix.size()));
  }
  json j = json::parse(line, nullptr, false);
  if (j.is_object() && j.contains("ts") && j["ts"].is_string()) {
    return j["ts"].get<std::string>();
  }
  return {};
}

std::string stamp(std::chrono::system_clock::time_point t) {
  std::string s = sys::format_rfc3339(t);  // 2026-01-31T12:00:00.000Z
  std::string out;
  for (char c : s.substr(0, 19)) {
    if (c != '-' && c != ':') {
      out += c;
    }
  }
  return out + "Z";
}

Result<void> gather_store(const EvidenceSources& src, const EvidenceRequest& req, Parts& parts) {
  store::RunFilter rf;
  rf.limit = req.runs;
  rf.env = req.env;
  auto runs = src.store.list_runs(rf);
  ZTP_TRY(runs);
  json runs_json = json::array();
  for (const auto& run : *runs) {
    auto stages = src.store.list_stages(run.id);
    ZTP_TRY(stages);
    auto events = src.store.list_events({.run_id = run.id, .env = {}, .limit = 0});
    ZTP_TRY(events);
    json r = record_json(run);
    r["stages"] = record_json_list(*stages);
    r["events"] = record_json_list(*events);
    runs_json.push_back(std::move(r));
  }
  parts.add_json("store/runs.json", runs_json);

  auto events = src.store.list_events({.run_id = {}, .env = req.env, .limit = 0});
  ZTP_TRY(events);
  constexpr size_t k_max_events = 2000;
  if (events->size() > k_max_events) {
    events->erase(events->begin(),
                  events->begin() + static_cast<std::ptrdiff_t>(events->size() - k_max_events));
    parts.note(fmt::format("store/events.json holds the latest {} events of {} only", k_max_events,
                           req.env));
  }
  parts.add_json("store/events.json", record_json_list(*events));

  auto releases = src.store.list_releases(req.env, 50);
  ZTP_TRY(releases);
  auto lkg = src.store.get_last_known_good(req.env);
  ZTP_TRY(lkg);
  auto state = src.store.get_env_state(req.env);
  ZTP_TRY(state);
  json desired;
  if (*state) {
    json weights = json::parse((*state)->weights, nullptr, false);
    desired = {{"replicas", (*state)->replicas},
               {"weights", weights.is_discarded() ? json((*state)->weights) : weights},
               {"spec_hash", (*state)->spec_hash},
               {"updated_at", (*state)->updated_at}};
  }
  parts.add_json("store/releases.json",
                 {{"releases", record_json_list(*releases)},
                  {"last_known_good", *lkg ? json{{"revision", (*lkg)->revision},
                                                  {"digest", (*lkg)->digest},
                                                  {"updated_at", (*lkg)->updated_at}}
                                           : json()},
                  {"desired_state", desired}});

  auto audit = src.store.list_audit(0);
  ZTP_TRY(audit);
  std::vector<store::AuditEntry> about;
  for (const auto& a : *audit) {
    bool match = a.target == "env " + req.env;
    for (const auto& run : *runs) {
      match = match || a.target == fmt::format("run {}", run.id);
    }
    if (match) {
      about.push_back(a);
    }
  }
  parts.add_json("store/audit.json", record_json_list(about));

  auto isolation = src.store.get_isolation(req.env);
  ZTP_TRY(isolation);
  auto freeze = src.store.get_freeze(req.env);
  ZTP_TRY(freeze);
  auto bad = src.store.list_bad_digests();
  ZTP_TRY(bad);
  json bad_json = json::array();
  for (const auto& b : *bad) {
    if (!b.env || *b.env == req.env) {
      bad_json.push_back({{"digest", b.digest},
                          {"env", b.env ? json(*b.env) : json()},
                          {"reason", b.reason},
                          {"marked_at", b.marked_at}});
    }
  }
  parts.add_json("store/holds.json", {{"isolation", *isolation ? record_json(**isolation) : json()},
                                      {"freeze", *freeze ? record_json(**freeze) : json()},
                                      {"bad_digests", bad_json}});

  // The image manifests and configs of the releases, from the OCI layout store.
  target::local::LocalPaths paths{src.home};
  if (!sfs::exists(paths.oci() / "index.json")) {
    parts.note(fmt::format("no OCI layout store at {}: release manifests not included",
                           paths.oci().string()));
    return {};
  }
  auto oci = artifact::OciLayoutStore::open(paths.oci());
  if (!oci.ok()) {
    parts.note("release manifests not included: " + oci.error().message);
    return {};
  }
  for (const auto& r : *releases) {
    auto desc = oci->resolve(r.digest);
    std::string dir = fmt::format("releases/{}", r.revision);
    if (!desc.ok()) {
      parts.note(fmt::format("{}: image {} not in the OCI layout store: {}", dir, r.digest,
                             desc.error().message));
      continue;
    }
    auto manifest = oci->read_blob(desc->digest);
    if (!manifest.ok()) {
      parts.note(fmt::format("{}: {}", dir, manifest.error().message));
      continue;
    }
    parts.add(dir + "/manifest.json", *manifest);
    json m = json::parse(*manifest, nullptr, false);
    if (m.is_object() && m.contains("config") && m["config"].is_object()) {
      auto config = oci->read_blob(m["config"].value("digest", std::string()));
      if (config.ok()) {
        parts.add(dir + "/config.json", *config);
      }
    }
    parts.add_json(dir + "/release.json", record_json(r));
  }
  return {};
}

void gather_replicas(const EvidenceSources& src, const EvidenceRequest& req, target::Target* t,
                     Parts& parts) {
  if (t != nullptr) {
    auto observed = t->observe(req.env);
    if (observed.ok()) {
      json sets = json::array();
      for (const auto& s : observed->sets) {
        json replicas = json::array();
        for (const auto& r : s.replicas) {
          replicas.push_back({{"id", r.id},
                              {"release", r.release},
                              {"address", r.address},
                              {"state", target::state_name(r.state)},
                              {"restarts", r.restarts},
                              {"detail", r.detail}});
        }
        sets.push_back({{"release", s.release},
                        {"digest", s.digest},
                        {"weight", s.weight},
                        {"healthy", s.healthy()},
                        {"replicas", replicas}});
      }
      parts.add_json("replicas/observed.json", {{"env", req.env}, {"sets", sets}});
    } else {
      parts.note("replicas/observed.json: the target could not observe the environment: " +
                 observed.error().message);
    }
  }
  target::local::LocalPaths paths{src.home};
  std::error_code ec;
  bool any = false;
  for (const auto& entry : sfs::directory_iterator(paths.env_dir(req.env), ec)) {
    if (!entry.is_directory()) {
      continue;
    }
    std::string id = entry.path().filename().string();
    for (std::string_view name : {std::string_view("status.json"), target::local::k_stdout_log,
                                  target::local::k_stderr_log, target::local::k_supervisor_log}) {
      auto text = tail_file(entry.path() / name, req.log_tail_bytes);
      if (text.ok()) {
        parts.add(fmt::format("replicas/{}/{}", id, name), std::move(*text));
        any = true;
      }
    }
  }
  if (!any) {
    parts.note(fmt::format("no replica directory under {}: no replica status or logs",
                           paths.env_dir(req.env).string()));
  }
}

void gather_proxy(const EvidenceSources& src, const EvidenceRequest& req, Parts& parts) {
  target::local::LocalPaths paths{src.home};
  auto routes = fs::read_file(paths.proxy() / "routes.json");
  if (routes.ok()) {
    json doc = json::parse(*routes, nullptr, false);
    json mine = json::array();
    if (doc.is_object() && doc.contains("envs") && doc["envs"].is_array()) {
      for (const auto& e : doc["envs"]) {
        std::string name = e.is_object() ? e.value("env", std::string()) : std::string();
        if (name == req.env || name.rfind(req.env + ".", 0) == 0) {
          mine.push_back(e);
        }
      }
    }
    parts.add_json("proxy/routes.json", {{"envs", mine}});
  } else {
    parts.note("proxy/routes.json: " + routes.error().message);
  }
  auto log_path = paths.proxy() / fmt::format("access-{}.log", req.env);
  std::error_code ec;
  if (!sfs::exists(log_path, ec) && !sfs::exists(log_path.string() + ".1", ec)) {
    parts.note(fmt::format("proxy/access.log: no access log at {}", log_path.string()));
    return;
  }
  auto window =
      access_log_window(log_path, src.clock.wall_now() - req.window, req.access_log_bytes);
  if (!window.cut.empty()) {
    parts.note("proxy/access.log: " + window.cut);
  }
  parts.add("proxy/access.log", std::move(window.lines));
}

void gather_drift(const EvidenceSources& src, const EvidenceRequest& req,
                  const spec::Environment& env, Parts& parts) {
  if (src.target_for) {
    DriftContext ctx{src.spec, src.home, src.store, src.clock, src.target_for, {}};
    auto report = detect_drift(ctx, env, "manual");
    if (report.ok()) {
      parts.add_json("drift/report.json", report->to_json());
      parts.add("drift/report.md", report->to_markdown());
      return;
    }
    parts.note("drift: a fresh check could not run (" + report.error().message +
               "); the latest stored report is included instead");
  }
  auto stored = src.store.list_drift_reports(req.env, 1);
  if (!stored.ok() || stored->empty()) {
    parts.note("drift: no drift report of " + req.env + " is stored");
    return;
  }
  const auto& r = stored->front();
  json j = json::parse(r.report, nullptr, false);
  parts.add_json("drift/report.json", j.is_discarded() ? json(r.report) : j);
  parts.add("drift/report.md",
            fmt::format("<!-- stored drift report {} of {} -->\n{}", r.id,
                        sys::format_rfc3339(sys::from_unix_ms(r.at)), r.markdown));
}

std::string readme(const EvidenceRequest& req, const std::string& at, const Parts& parts) {
  std::string md = fmt::format(
      "# Evidence bundle of {}\n\nGathered {}. Proxy access log: the last {} minutes, at most "
      "{} KiB. Runs: the latest {}.\n\n## Parts\n\n",
      req.env, at, req.window.count(), req.access_log_bytes / 1024, req.runs);
  for (const auto& [path, content] : parts.files) {
    md += fmt::format("- `{}` ({} bytes)\n", path, content.size());
  }
  md += "\n## Not included\n\n";
  if (parts.notes.empty()) {
    md += "Nothing: every part was gathered.\n";
  }
  for (const auto& n : parts.notes) {
    md += "- " + n + "\n";
  }
  return md;
}

Result<void> write_tar_gz(const sfs::path& file, const std::string& root, const Parts& parts,
                          std::time_t mtime) {
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            archive_write_free);
  auto fail = [&](std::string_view what) {
    return make_error(
        Errc::internal,
        fmt::format("writing the evidence bundle {}: {}: {}", file.string(), what,
                    archive_error_string(a.get()) != nullptr ? archive_error_string(a.get())
                                                             : "unknown error"));
  };
  if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      archive_write_open_filename(a.get(), file.c_str()) != ARCHIVE_OK) {
    return fail("open");
  }
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                  archive_entry_free);
  for (const auto& [path, content] : parts.files) {
    archive_entry_clear(e.get());
    std::string name = root + "/" + path;
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0600);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(content.size()));
    archive_entry_set_mtime(e.get(), mtime, 0);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) {
      return fail(path);
    }
    if (!content.empty() && archive_write_data(a.get(), content.data(), content.size()) !=
                                static_cast<la_ssize_t>(content.size())) {
      return fail(path);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return fail("close");
  }
  return {};
}

}  // namespace

std::string access_log_since(std::istream& log, std::chrono::system_clock::time_point since) {
  // The log's timestamps have one fixed width, so they compare as text.
  const std::string cutoff = sys::format_rfc3339(since);
  std::string out;
  std::string line;
  while (std::getline(log, line)) {
    if (line.empty()) {
      continue;
    }
    std::string ts = access_line_time(line);
    if (ts.size() == cutoff.size() && ts < cutoff) {
      continue;
    }
    out += line;
    out += '\n';
  }
  return out;
}

AccessLogWindow access_log_window(const sfs::path& log, std::chrono::system_clock::time_point since,
                                  uint64_t max_bytes) {
  const std::string cutoff = sys::format_rfc3339(since);
  AccessLogWindow out;
  std::vector<std::string> pieces;  // newest file first
  uint64_t budget = max_bytes;
  for (unsigned n = 0;; ++n) {
    sfs::path file = n == 0 ? log : sfs::path(log.string() + "." + std::to_string(n));
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      if (n == 0) {
        continue;  // moved away a moment ago: the rotated ones may still be there
      }
      break;
    }
    auto [text, from] = read_last(in, budget);
    if (budget == 0) {
      if (from > 0) {  // the file is not empty
        out.cut =
            fmt::format("the window holds more than {} bytes; {} and older files are left out",
                        max_bytes, file.string());
      }
      break;
    }
    budget -= std::min<uint64_t>(budget, text.size());
    if (from > 0) {
      auto nl = text.find('\n');
      text.erase(0, nl == std::string::npos ? text.size() : nl + 1);  // a partial first line
    }
    // The oldest line read tells whether the window goes on before what was read.
    std::string first_ts = access_line_time(std::string_view(text).substr(0, text.find('\n')));
    bool window_starts_here = first_ts.size() == cutoff.size() && first_ts < cutoff;
    std::istringstream lines(std::move(text));
    pieces.push_back(access_log_since(lines, since));
    if (window_starts_here) {
      break;
    }
    if (from > 0) {
      out.cut = fmt::format(
          "the window holds more than {} bytes: lines before {} are left out (they stay in {})",
          max_bytes, first_ts.empty() ? "the first one included" : first_ts, file.string());
      break;
    }
  }
  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
    out.lines += *it;
  }
  return out;
}

Result<EvidenceBundle> write_evidence(const EvidenceSources& src, const EvidenceRequest& req) {
  const spec::Environment* env = src.spec.find_environment(req.env);
  if (env == nullptr) {
    return make_error(Errc::invalid,
                      fmt::format("no environment {} in {}", req.env, src.spec.file.string()));
  }
  auto now = src.clock.wall_now();
  Parts parts;
  auto spec_text = fs::read_file(src.spec.file);
  if (spec_text.ok()) {
    parts.add("spec/" + src.spec.file.filename().string(),
              spec::mask_credentials(src.spec, std::move(*spec_text)));
  } else {
    parts.note("spec: " + spec_text.error().message);
  }
  ZTP_TRY(gather_store(src, req, parts));
  target::Target* t = nullptr;
  if (src.target_for) {
    auto found = src.target_for(req.env);
    if (found.ok()) {
      t = *found;
    } else {
      parts.note("target: " + found.error().message);
    }
  }
  gather_replicas(src, req, t, parts);
  gather_proxy(src, req, parts);
  gather_drift(src, req, *env, parts);

  EvidenceBundle bundle;
  bundle.root = fmt::format("evidence-{}-{}", req.env, stamp(now));
  bundle.file = req.output.empty() ? sfs::path(bundle.root + ".tar.gz") : req.output;
  std::string index = readme(req, sys::format_rfc3339(now), parts);
  parts.files.insert(parts.files.begin(), {"README.md", std::move(index)});
  for (const auto& [path, content] : parts.files) {
    bundle.parts.push_back(path);
  }
  bundle.notes = parts.notes;

  ZTP_TRY(fs::ensure_dir(sfs::absolute(bundle.file).parent_path()));
  auto partial = bundle.file;
  partial += ".partial";
  auto written =
      write_tar_gz(partial, bundle.root, parts, std::chrono::system_clock::to_time_t(now));
  if (!written.ok()) {
    std::error_code ec;
    sfs::remove(partial, ec);
    return written.take_error();
  }
  std::error_code ec;
  sfs::rename(partial, bundle.file, ec);
  if (ec) {
    return make_error(Errc::internal, fmt::format("cannot move the bundle to {}: {}",
                                                  bundle.file.string(), ec.message()));
  }
  bundle.bytes = sfs::file_size(bundle.file, ec);
  return bundle;
}

}  // namespace ztp::engine
