#include "engine/evidence.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "spec/parse.hpp"
#include "support/fake_clock.hpp"
#include "support/support.hpp"
#include "sys/time.hpp"
#include "util/fs.hpp"

namespace ztp::engine {
namespace {

using nlohmann::json;
using std::chrono::minutes;

// Every regular file of a tar.gz, by path.
std::map<std::string, std::string> unpack(const std::filesystem::path& file) {
  std::map<std::string, std::string> out;
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, file.c_str(), 16384), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string content(static_cast<size_t>(archive_entry_size(e)), '\0');
    if (!content.empty()) {
      archive_read_data(a, content.data(), content.size());
    }
    out[archive_entry_pathname(e)] = content;
  }
  archive_read_free(a);
  return out;
}

std::string access_line(std::chrono::system_clock::time_point at, const std::string& path) {
  return fmt::format(R"({{"ts":"{}","env":"dev","status":200,"path":"{}"}})",
                     sys::format_rfc3339(at), path) +
         "\n";
}

TEST(AccessLogSince, KeepsTheWindowAndUnstampedLines) {
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  std::istringstream log(access_line(now - minutes(40), "/old") +
                         access_line(now - minutes(10), "/recent") + "\n" +
                         R"({"env":"dev","path":"/no-ts"})" + "\n" +
                         R"({"path":"/ts-later","ts":")" + sys::format_rfc3339(now) + "\"}\n");
  std::string kept = access_log_since(log, now - minutes(30));
  EXPECT_EQ(kept.find("/old"), std::string::npos);
  EXPECT_NE(kept.find("/recent"), std::string::npos);
  EXPECT_NE(kept.find("/no-ts"), std::string::npos);
  EXPECT_NE(kept.find("/ts-later"), std::string::npos);
}

TEST(AccessLogWindow, ReadsTheWindowAcrossRotatedFilesOldestFirst) {
  testing::TempDir dir;
  auto log = dir.path() / "access-dev.log";
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  ASSERT_TRUE(
      fs::atomic_write(log.string() + ".3", access_line(now - minutes(90), "/gone"), 0644).ok());
  ASSERT_TRUE(fs::atomic_write(
                  log.string() + ".2",
                  access_line(now - minutes(50), "/old") + access_line(now - minutes(25), "/two"),
                  0644)
                  .ok());
  ASSERT_TRUE(
      fs::atomic_write(log.string() + ".1", access_line(now - minutes(20), "/one"), 0644).ok());
  ASSERT_TRUE(fs::atomic_write(log, access_line(now - minutes(1), "/now"), 0644).ok());
  auto window = access_log_window(log, now - minutes(30), 1024 * 1024);
  EXPECT_EQ(window.lines, access_line(now - minutes(25), "/two") +
                              access_line(now - minutes(20), "/one") +
                              access_line(now - minutes(1), "/now"));
  EXPECT_EQ(window.cut, "");

  // Moved away a moment ago (logrotate): the rotated files are still read.
  std::filesystem::remove(log);
  window = access_log_window(log, now - minutes(30), 1024 * 1024);
  EXPECT_NE(window.lines.find("/one"), std::string::npos);
}

TEST(AccessLogWindow, KeepsOnlyTheNewestBytesAndSaysWhatWasCut) {
  testing::TempDir dir;
  auto log = dir.path() / "access-dev.log";
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  std::string older;
  std::string newer;
  for (int i = 0; i < 100; ++i) {
    older += access_line(now - minutes(20) + std::chrono::seconds(i), "/older" + std::to_string(i));
    newer += access_line(now - minutes(10) + std::chrono::seconds(i), "/newer" + std::to_string(i));
  }
  ASSERT_TRUE(fs::atomic_write(log.string() + ".1", older, 0644).ok());
  ASSERT_TRUE(fs::atomic_write(log, newer, 0644).ok());
  const uint64_t bound = newer.size() + 1000;
  auto window = access_log_window(log, now - minutes(30), bound);
  EXPECT_LE(window.lines.size(), bound);
  EXPECT_EQ(window.lines.substr(window.lines.size() - newer.size()), newer);
  EXPECT_EQ(window.lines.find("/older0\""), std::string::npos);
  EXPECT_NE(window.lines.find("/older99\""), std::string::npos);
  // Whole lines only.
  EXPECT_EQ(window.lines.rfind("{\"ts\":", 0), 0u) << window.lines.substr(0, 80);
  EXPECT_NE(window.cut.find("more than " + std::to_string(bound) + " bytes"), std::string::npos)
      << window.cut;
  EXPECT_NE(window.cut.find("access-dev.log.1"), std::string::npos) << window.cut;

  // The same bound with a window that starts inside what was read cuts nothing.
  window = access_log_window(log, now - minutes(15), bound);
  EXPECT_EQ(window.lines, newer);
  EXPECT_EQ(window.cut, "");
}

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spec.file = dir / "ztp.yaml";
    ASSERT_TRUE(fs::atomic_write(spec.file, "app: demo\n# the spec\n", 0644).ok());
    spec.app = "demo";
    spec::Environment dev;
    dev.name = "dev";
    dev.listen = "127.0.0.1:8080";
    spec.environments.push_back(dev);
    auto opened = store::SqliteStore::open(home() / "state.db", clock);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store = std::move(*opened);
  }
  std::filesystem::path home() const { return dir / "home"; }

  testing::TempDir dir;
  testing::FakeClock clock;
  spec::Spec spec;
  std::unique_ptr<store::SqliteStore> store;
};

TEST_F(EvidenceTest, BundlesEveryPart) {
  store::NewRun new_run;
  new_run.app = "demo";
  new_run.commit_sha = "a1b2c3d4";
  auto run = store->create_run(new_run);
  ASSERT_TRUE(run.ok());
  auto stage = store->start_stage(run->id, "rollout", std::string("dev"));
  ASSERT_TRUE(stage.ok());
  store::NewEvent started;
  started.run_id = run->id;
  started.env = "dev";
  started.kind = "rollout.started";
  started.message = "rolling";
  ASSERT_TRUE(store->append_event(started).ok());
  store::NewRelease release;
  release.env = "dev";
  release.digest = "sha256:0001";
  ASSERT_TRUE(store->create_release(release).ok());
  ASSERT_TRUE(store->append_audit("cli", "isolate", "env dev", "leak").ok());
  ASSERT_TRUE(store->append_audit("cli", "deploy", "env prod", "other env").ok());
  ASSERT_TRUE(store->set_isolation("dev", "leak", "cli").ok());
  store::NewDriftReport drift;
  drift.env = "dev";
  drift.in_sync = false;
  drift.findings = 1;
  drift.report = R"({"env":"dev","findings":[{"kind":"replica_down"}]})";
  drift.markdown = "# Drift of dev\n- replica_down\n";
  ASSERT_TRUE(store->save_drift_report(drift).ok());

  auto replica = home() / "envs" / "dev" / "dev-r1-0";
  ASSERT_TRUE(fs::ensure_dir(replica).ok());
  ASSERT_TRUE(fs::atomic_write(replica / "status.json", R"({"state":"running"})", 0644).ok());
  ASSERT_TRUE(fs::atomic_write(replica / "stdout.log", "GET / 200\n", 0644).ok());
  auto now = clock.wall_now();
  ASSERT_TRUE(fs::ensure_dir(home() / "proxy").ok());
  ASSERT_TRUE(fs::atomic_write(home() / "proxy" / "access-dev.log",
                               access_line(now - minutes(90), "/before") +
                                   access_line(now - minutes(5), "/during"),
                               0644)
                  .ok());
  json routes{{"version", 1},
              {"envs",
               {{{"env", "dev"}, {"listen", "127.0.0.1:8080"}, {"maintenance", {{"message", ""}}}},
                {{"env", "prod"}, {"listen", "127.0.0.1:8090"}}}}};
  ASSERT_TRUE(fs::atomic_write(home() / "proxy" / "routes.json", routes.dump(), 0600).ok());

  EvidenceSources src{spec, home(), *store, clock, {}};
  EvidenceRequest req;
  req.env = "dev";
  req.window = minutes(30);
  req.output = dir / "out" / "bundle.tar.gz";
  auto bundle = write_evidence(src, req);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  EXPECT_GT(bundle->bytes, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "bundle.tar.gz.partial"));

  auto files = unpack(req.output);
  std::string root = bundle->root + "/";
  EXPECT_EQ(bundle->root.rfind("evidence-dev-", 0), 0u);
  for (const char* part :
       {"README.md", "spec/ztp.yaml", "store/runs.json", "store/events.json", "store/releases.json",
        "store/audit.json", "store/holds.json", "replicas/dev-r1-0/status.json",
        "replicas/dev-r1-0/stdout.log", "proxy/routes.json", "proxy/access.log",
        "drift/report.json", "drift/report.md"}) {
    EXPECT_EQ(files.count(root + part), 1u) << part;
  }
  EXPECT_EQ(files[root + "spec/ztp.yaml"], "app: demo\n# the spec\n");
  json runs = json::parse(files[root + "store/runs.json"]);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["stages"][0]["name"], "rollout");
  EXPECT_EQ(runs[0]["events"][0]["kind"], "rollout.started");
  json audit = json::parse(files[root + "store/audit.json"]);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["action"], "isolate");
  EXPECT_EQ(json::parse(files[root + "store/holds.json"])["isolation"]["reason"], "leak");
  json proxied = json::parse(files[root + "proxy/routes.json"]);
  ASSERT_EQ(proxied["envs"].size(), 1u);
  EXPECT_TRUE(proxied["envs"][0].contains("maintenance"));
  EXPECT_EQ(files[root + "proxy/access.log"].find("/before"), std::string::npos);
  EXPECT_NE(files[root + "proxy/access.log"].find("/during"), std::string::npos);
  EXPECT_EQ(json::parse(files[root + "drift/report.json"])["findings"][0]["kind"], "replica_down");
  EXPECT_NE(files[root + "drift/report.md"].find("replica_down"), std::string::npos);
  // No OCI layout store here: the README says the manifests are missing, and why.
  const std::string& readme = files[root + "README.md"];
  EXPECT_NE(readme.find("- `store/runs.json`"), std::string::npos);
  EXPECT_NE(readme.find("release manifests not included"), std::string::npos);
}

TEST_F(EvidenceTest, TheSpecCopyMasksEveryCredential) {
  const std::string text = R"(app: demo
source: {repo: "https://x-access-token:ghp_gitTOKEN123@github.com/octo/site.git",
         webhook_secret: hook-SECRET-1}
environments:
  - {name: dev, listen: "127.0.0.1:8080"}
notify:
  - {type: slack, url: "https://hooks.slack.com/services/T000/B000/slackSECRETpath"}
  - {type: pagerduty, routing_key: pdROUTINGkey0123456789abcdef0123}
  - {type: webhook, url: "https://ops:webhookPASSWORD@hooks.example.com/ztp", secret: generic-SECRET-2}
)";
  ASSERT_TRUE(fs::atomic_write(spec.file, text, 0644).ok());
  auto parsed = spec::parse_spec(text, spec.file.string(),
                                 [](const std::string&) { return std::optional<std::string>(); });
  ASSERT_TRUE(parsed.spec) << spec::to_string(parsed.diagnostics.at(0));
  EvidenceSources src{*parsed.spec, home(), *store, clock, {}};
  EvidenceRequest req;
  req.env = "dev";
  req.output = dir / "bundle.tar.gz";
  auto bundle = write_evidence(src, req);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  auto files = unpack(req.output);
  const std::string& copy = files[bundle->root + "/spec/ztp.yaml"];
  EXPECT_NE(copy.find("hooks.slack.com/(masked)"), std::string::npos) << copy;
  for (const auto& [path, content] : files) {
    for (const char* secret : {"ghp_gitTOKEN123", "hook-SECRET-1", "slackSECRETpath",
                               "pdROUTINGkey0123", "webhookPASSWORD", "generic-SECRET-2"}) {
      EXPECT_EQ(content.find(secret), std::string::npos) << secret << " in " << path;
    }
  }
}

TEST_F(EvidenceTest, UnknownEnvironmentIsInvalid) {
  EvidenceSources src{spec, home(), *store, clock, {}};
  EvidenceRequest req;
  req.env = "prod";
  req.output = dir / "x.tar.gz";
  auto bundle = write_evidence(src, req);
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().code, Errc::invalid);
}

}  // namespace
}  // namespace ztp::engine
