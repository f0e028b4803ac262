// Deliberately broken releases of the sample application on real nginx, deployed under steady
// load through the front door: each is caught, rolled back, and the stable release serves
// throughout. One environment per test; the strategies use short intervals so the whole file
// stays quick.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "store/sqlite_store.hpp"
#include "support/front_door_load.hpp"
#include "support/sample_app.hpp"
#include "support/support.hpp"

namespace ztp {
namespace {

using testing::http_get;
using testing::replace_in;
using testing::run_ztp;

// What the stable release's home page says, and what only a broken variant's page says.
constexpr const char* k_stable_marker = "AWS ECS Demo";
constexpr const char* k_broken_marker = "Broken Build";
// The sample application's own 5xx page: a 500 that a release itself answered.
constexpr const char* k_app_error_page = "Something Went Wrong";

// GET / through the front door from several threads until stopped (bounded by `max_requests`).
// Keeps every failure (status and the start of the body), and whether any success came from
// something other than the stable release.
class Load {
 public:
  Load(int port, int threads, int max_requests = 200000)
      : m_load(port, max_requests, threads,
               [this](const testing::HttpResponse& r) { observe(r); }) {}
  void stop() { m_load.stop(); }
  int requests() const { return m_load.requests(); }
  int not_stable() const { return m_not_stable; }
  std::vector<std::pair<int, std::string>> failures() const {
    std::lock_guard lock(m_mu);
    return m_failures;
  }
  // Failures that are not the release's own 500 page (a connect error, a proxy 502/503, ...).
  std::vector<std::string> foreign_failures() const {
    std::vector<std::string> out;
    for (const auto& [status, body] : failures()) {
      if (status != 500 || body.find(k_app_error_page) == std::string::npos) {
        out.push_back(std::to_string(status) + ": " + body.substr(0, 120));
      }
    }
    return out;
  }

 private:
  void observe(const testing::HttpResponse& r) {
    if (r.status != 200) {
      std::lock_guard lock(m_mu);
      m_failures.emplace_back(r.status, r.body.substr(0, 2000));
    } else if (r.body.find(k_stable_marker) == std::string::npos ||
               r.body.find(k_broken_marker) != std::string::npos) {
      ++m_not_stable;
    }
  }

  std::atomic<int> m_not_stable{0};
  mutable std::mutex m_mu;
  std::vector<std::pair<int, std::string>> m_failures;
  testing::FrontDoorLoad m_load;  // last: its threads call observe() until it stops
};

class BrokenReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    ASSERT_TRUE(std::filesystem::exists("/usr/lib/nginx/modules/ngx_http_echo_module.so"))
        << "the nginx echo module is missing: run `apt-get install libnginx-mod-http-echo` (or "
           "scripts/install-deps.sh)";
    testing::copy_sample_app(stable());
    port = testing::free_port();
    preview_port = testing::free_port();
    env = {"ZTP_HOME=" + home().string()};
  }

  void TearDown() override {
    if (std::filesystem::exists(spec_file())) {
      run_ztp({"-f", spec_file().string(), "down"}, env);
    }
  }

  std::filesystem::path stable() const { return dir / "stable"; }
  std::filesystem::path home() const { return dir / "home"; }
  std::filesystem::path spec_file() const { return dir / "ztp.yaml"; }

  // Writes ztp.yaml with environment `dev` run by `strategy` (a YAML flow mapping), verified by
  // `verify` and watched by `watch` (both YAML, may be empty).
  void write_spec(const std::string& strategy, const std::string& verify = "",
                  const std::string& watch = "") {
    std::string checks = R"(  smoke:
    - name: home page
      path: /
      expect: {status: 200, body_contains: ")" +
                         std::string(k_stable_marker) + R"("}
      retry: {attempts: 2, interval: 200ms, deadline: 5s}
)";
    testing::write_text(spec_file(), testing::sample_app_yaml({.port = port,
                                                               .strategy = strategy,
                                                               .verify = verify,
                                                               .watch = watch,
                                                               .checks = checks}));
  }

  std::string preview() const { return "127.0.0.1:" + std::to_string(preview_port); }

  // A copy of the sample application, altered by `change`, with the broken marker on its page.
  std::filesystem::path variant(const std::string& name,
                                const std::function<void(const std::filesystem::path&)>& change) {
    auto path = dir / name;
    testing::copy_sample_app(path);
    change(path);
    return path;
  }

  // The sample application answering 500 on / (its /health stays healthy).
  std::filesystem::path server_errors_variant() {
    return variant("errors", [](const std::filesystem::path& p) {
      replace_in(p / "conf" / "site.conf", "location / {",
                 "location = / {\n    return 500;\n}\n\nlocation / {");
    });
  }

  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", spec_file().string()});
    return run_ztp(args, env);
  }

  void deploy_stable() {
    auto r = ztp({"deploy", "dev", "--dir", stable().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // Starts the load and waits until it flows.
  std::unique_ptr<Load> start_load(int threads) {
    auto load = std::make_unique<Load>(port, threads);
    EXPECT_TRUE(testing::wait_until([&] { return load->requests() > 20; }));
    return load;
  }

  // `ztp -o json deploy dev --dir release` under `threads` threads of load, stopped once it
  // returned.
  std::pair<testing::ProcessResult, std::unique_ptr<Load>> deploy_under_load(
      const std::filesystem::path& release, int threads) {
    auto load = start_load(threads);
    auto r = ztp({"-o", "json", "deploy", "dev", "--dir", release.string()});
    load->stop();
    return {r, std::move(load)};
  }

  // The reason of a deploy that failed and was rolled back (exit 12).
  static std::string rolled_back_reason(const testing::ProcessResult& r) {
    EXPECT_EQ(r.exit_code, 12) << r.out << r.err;
    auto error = error_of(r);
    EXPECT_EQ(error["code"], "rolled_back");
    return error["message"];
  }

  // The error of a failed `ztp -o json ...`.
  static nlohmann::json error_of(const testing::ProcessResult& r) {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.contains("error")) {
      ADD_FAILURE() << "no JSON error in: " << r.out << r.err;
      return nlohmann::json{{"code", ""}, {"message", ""}};
    }
    return j["error"];
  }

  // The data of the last event of `kind` recorded for dev.
  nlohmann::json last_event(const std::string& kind) {
    auto store = store::SqliteStore::open(home() / "state.db");
    EXPECT_TRUE(store.ok());
    if (!store.ok()) {
      return {};
    }
    store::EventFilter filter;
    filter.env = "dev";
    filter.limit = 0;
    auto events = (*store)->list_events(filter);
    EXPECT_TRUE(events.ok());
    nlohmann::json found;
    for (const auto& e : *events) {
      if (e.kind == kind) {
        found = nlohmann::json::parse(e.data);
      }
    }
    EXPECT_FALSE(found.is_null()) << "no event " << kind;
    return found;
  }

  nlohmann::json status() {
    auto r = ztp({"-o", "json", "status", "dev"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)["environments"][0];
  }

  // After the rollback: revision 1 is what runs and what answers, whole.
  void expect_stable_back() {
    auto s = status();
    EXPECT_EQ(s["release"]["revision"], 1) << s.dump(2);
    ASSERT_EQ(s["sets"].size(), 1u) << s.dump(2);
    EXPECT_EQ(s["sets"][0]["release"], "1");
    EXPECT_EQ(s["sets"][0]["weight"], 100);
    EXPECT_EQ(s["healthy_replicas"], 2);
    for (int i = 0; i < 10; ++i) {
      auto page = http_get(port, "/");
      EXPECT_EQ(page.status, 200);
      EXPECT_NE(page.body.find(k_stable_marker), std::string::npos);
    }
  }

  testing::TempDir dir;
  int port = 0;
  int preview_port = 0;
  std::vector<std::string> env;
};

// The canary at 20% answers 500 on /: the analysis fails at its first reading.
TEST_F(BrokenReleaseTest, ServerErrorsAreCaughtByTheCanaryAnalysis) {
  write_spec(
      "{canary: {steps: [{weight: 20, pause: 20s}], analysis: {max_error_rate: 0.05, "
      "min_requests: 10, deadline: 20s}}}");
  deploy_stable();
  auto bad = server_errors_variant();
  auto [r, load] = deploy_under_load(bad, 4);
  std::string message = rolled_back_reason(r);
  EXPECT_EQ(message.rfind("canary release 2 of dev failed its analysis at 20%: canary error rate "
                          "100.0% (",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find(") above max 5.0%; rolled back"), std::string::npos) << message;
  auto aborted = last_event("canary.aborted");
  EXPECT_EQ(aborted["verdict"], "fail");
  EXPECT_EQ(aborted["weight"], 20);
  EXPECT_DOUBLE_EQ(aborted["error_rate"].get<double>(), 1.0);
  EXPECT_GE(aborted["requests"].get<int>(), 10);
  // Only the canary's share failed, with the release's own 500 page; the rest was stable.
  EXPECT_GT(load->requests(), 50);
  EXPECT_TRUE(load->foreign_failures().empty()) << load->foreign_failures().front();
  EXPECT_GT(load->failures().size(), 0u);
  EXPECT_LE(load->failures().size() * 100, static_cast<size_t>(load->requests()) * 20);
  EXPECT_EQ(load->not_stable(), 0);
  expect_stable_back();
}

// The canary takes 2 s to answer /: the analysis fails on p95.
TEST_F(BrokenReleaseTest, SlowReleaseIsCaughtByTheCanaryLatencyLimit) {
  write_spec(
      "{canary: {steps: [{weight: 20, pause: 20s}], analysis: {max_p95: 500ms, min_requests: 5, "
      "deadline: 20s}}}");
  deploy_stable();
  auto bad = variant("slow", [](const std::filesystem::path& p) {
    replace_in(p / "nginx.local.conf", "user root;",
               "load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;\nuser root;");
    replace_in(p / "conf" / "site.conf", "location / {",
               "location = / {\n    echo_sleep 2;\n    echo_exec /index.html;\n}\n\nlocation / {");
  });
  auto [r, load] = deploy_under_load(bad, 12);
  std::string message = rolled_back_reason(r);
  EXPECT_EQ(message.rfind("canary release 2 of dev failed its analysis at 20%: canary p95 ", 0), 0u)
      << message;
  EXPECT_NE(message.find(" ms above max 500 ms ("), std::string::npos) << message;
  auto aborted = last_event("canary.aborted");
  EXPECT_EQ(aborted["verdict"], "fail");
  EXPECT_GT(aborted["p95_ms"].get<double>(), 1000);
  EXPECT_EQ(aborted["errors"], 0);
  // Slow is not failed: every request was answered, with the stable page.
  EXPECT_TRUE(load->failures().empty()) << load->failures().front().first;
  EXPECT_EQ(load->not_stable(), 0);
  expect_stable_back();
}

// The new release drops X-Frame-Options: the security_headers suite fails on the preview, so
// it never takes a request of the front door.
TEST_F(BrokenReleaseTest, MissingSecurityHeaderIsCaughtOnTheBlueGreenPreview) {
  write_spec("{blue_green: {preview_listen: " + preview() + "}}", "[security_headers]");
  deploy_stable();
  auto bad = variant("headers", [](const std::filesystem::path& p) {
    replace_in(p / "conf" / "site.conf", "add_header X-Frame-Options \"SAMEORIGIN\" always;", "");
  });
  auto [r, load] = deploy_under_load(bad, 2);
  std::string message = rolled_back_reason(r);
  EXPECT_NE(message.find("release 2 of dev failed verification on its preview http://" + preview()),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("header X-Frame-Options missing"), std::string::npos) << message;
  auto check = last_event("check.failed");
  EXPECT_EQ(check["passed"], false);
  EXPECT_EQ(check["failure"], "unhealthy");
  EXPECT_EQ(check["suite"], "security_headers");
  EXPECT_TRUE(load->failures().empty()) << load->failures().front().second;
  EXPECT_EQ(load->not_stable(), 0);
  expect_stable_back();
}

// The new release's nginx exits at once: its supervisor restarts it until it calls it a crash
// loop, and the rolling update gives up before any of it took traffic.
TEST_F(BrokenReleaseTest, CrashLoopingReleaseIsRolledBack) {
  write_spec("{rolling: {max_surge: 1, max_unavailable: 0}}");
  deploy_stable();
  auto bad = variant("crash", [](const std::filesystem::path& p) {
    replace_in(p / "nginx.local.conf", "worker_processes 1;",
               "worker_processes 1;\nno_such_directive on;");
  });
  auto [r, load] = deploy_under_load(bad, 2);
  std::string message = rolled_back_reason(r);
  EXPECT_NE(message.find("of release 2 in dev crashed: "), std::string::npos) << message;
  EXPECT_NE(message.find("; rolled back"), std::string::npos) << message;
  EXPECT_TRUE(load->failures().empty()) << load->failures().front().second;
  EXPECT_EQ(load->not_stable(), 0);
  expect_stable_back();
}

// /health answers, but the home page is not the application's: the smoke check on the preview
// catches what health checks cannot.
TEST_F(BrokenReleaseTest, HealthyReleaseWithWrongContentIsCaughtByItsChecks) {
  write_spec("{blue_green: {preview_listen: " + preview() + "}}", "[smoke]");
  deploy_stable();
  auto bad = variant("content", [](const std::filesystem::path& p) {
    testing::write_text(p / "src" / "index.html",
                        std::string("<!DOCTYPE html><html><head><title>") + k_broken_marker +
                            "</title></head><body><h1>" + k_broken_marker +
                            "</h1></body></html>\n");
  });
  auto [r, load] = deploy_under_load(bad, 2);
  std::string message = rolled_back_reason(r);
  EXPECT_NE(message.find("smoke / home page: GET /: body does not contain \"AWS ECS Demo\" (got "),
            std::string::npos)
      << message;
  EXPECT_TRUE(load->failures().empty()) << load->failures().front().second;
  EXPECT_EQ(load->not_stable(), 0);
  expect_stable_back();
}

// Nothing checks / before the switch; the post-deploy watch sees the live errors and puts the
// previous release back.
TEST_F(BrokenReleaseTest, PostDeployWatchRollsBackAReleaseThatFailsLiveTraffic) {
  write_spec("{rolling: {max_surge: 2, max_unavailable: 0}}");
  deploy_stable();
  write_spec("{rolling: {max_surge: 2, max_unavailable: 0}}", "",
             "{window: 30s, max_error_rate: 0.05, min_requests: 10}");
  auto bad = server_errors_variant();
  auto load = start_load(2);
  auto r = ztp({"-o", "json", "deploy", "dev", "--dir", bad.string()});
  // Once it returned (the broken set drained and stopped), every answer is stable again.
  auto failures_at_return = load->failures().size();
  int requests_at_return = load->requests();
  ASSERT_TRUE(testing::wait_until([&] { return load->requests() > requests_at_return + 50; }));
  load->stop();
  std::string message = rolled_back_reason(r);
  EXPECT_EQ(message.rfind("release 2 of dev failed its post-deploy watch ", 0), 0u) << message;
  EXPECT_NE(message.find("release 2 error rate 100.0% ("), std::string::npos) << message;
  EXPECT_NE(message.find("; rolled back to revision 1"), std::string::npos) << message;
  EXPECT_EQ(last_event("watch.failed")["verdict"], "fail");
  EXPECT_TRUE(load->foreign_failures().empty()) << load->foreign_failures().front();
  EXPECT_EQ(load->failures().size(), failures_at_return);
  expect_stable_back();
  // The image is marked bad: deploying it again needs --force.
  auto again = ztp({"deploy", "dev", "--dir", bad.string()});
  EXPECT_EQ(again.exit_code, 14) << again.err;
  EXPECT_NE(again.err.find("marked bad"), std::string::npos) << again.err;
}

// A release that passed everything but turns out wrong: `ztp rollback` inside keep_previous is
// one route change to the warm previous set.
TEST_F(BrokenReleaseTest, RollbackInsideKeepPreviousIsOneRouteChange) {
  write_spec("{blue_green: {preview_listen: " + preview() + ", keep_previous: 10m}}");
  deploy_stable();
  auto pid_of = [&](const std::string& id) {
    return nlohmann::json::parse(
               testing::read_text(home() / "envs" / "dev" / id / "status.json"))["pid"]
        .get<int>();
  };
  std::string stable_replica = status()["sets"][0]["replicas"][0]["id"];
  int stable_pid = pid_of(stable_replica);
  auto next = variant("next", [](const std::filesystem::path& p) {
    replace_in(p / "src" / "index.html", "AWS ECS Demo",
               std::string("AWS ECS Demo ") + k_broken_marker);
  });
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", next.string()}).exit_code, 0);
  ASSERT_NE(http_get(port, "/").body.find(k_broken_marker), std::string::npos);
  // The warm previous set is shown apart from the replicas that serve.
  auto before = status();
  EXPECT_EQ(before["healthy_replicas"], 2) << before.dump(2);
  EXPECT_EQ(before["standby_replicas"], 2) << before.dump(2);

  auto load = start_load(2);
  auto r = ztp({"-o", "json", "rollback", "dev"});
  // Once it returned (revision 2 drained and stopped), every answer is stable again.
  int requests_at_return = load->requests();
  int not_stable_at_return = load->not_stable();
  ASSERT_TRUE(testing::wait_until([&] { return load->requests() > requests_at_return + 50; }));
  load->stop();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["method"], "switch_back");
  EXPECT_EQ(out["processes_started"], false);
  EXPECT_EQ(out["from"]["revision"], 2);
  EXPECT_EQ(out["to"]["revision"], 1);
  EXPECT_FALSE(out["marked_bad"].is_null());
  // The same process serves again; no request failed; after the switch only stable answers.
  EXPECT_EQ(pid_of(stable_replica), stable_pid);
  EXPECT_TRUE(load->failures().empty()) << load->failures().front().second;
  EXPECT_EQ(load->not_stable(), not_stable_at_return);
  expect_stable_back();
  auto text = ztp({"rollback", "dev"});
  EXPECT_EQ(text.exit_code, 1) << text.err;
  EXPECT_NE(text.err.find("dev has no earlier good release to roll back to"), std::string::npos)
      << text.err;
}

// Past keep_previous the warm previous set is stopped by whoever looks next: `ztp status`.
TEST_F(BrokenReleaseTest, StatusStopsAStandbySetPastKeepPrevious) {
  write_spec("{blue_green: {preview_listen: " + preview() + ", keep_previous: 1s}}");
  deploy_stable();
  std::string stable_replica = status()["sets"][0]["replicas"][0]["id"];
  int stable_pid = nlohmann::json::parse(testing::read_text(home() / "envs" / "dev" /
                                                            stable_replica / "status.json"))["pid"]
                       .get<int>();
  auto next = variant("next", [](const std::filesystem::path& p) {
    replace_in(p / "src" / "index.html", "AWS ECS Demo",
               std::string("AWS ECS Demo ") + k_broken_marker);
  });
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", next.string()}).exit_code, 0);
  nlohmann::json s;
  ASSERT_TRUE(testing::wait_until([&] {
    s = status();
    return s.contains("standby_stopped");
  })) << s.dump(2);
  EXPECT_EQ(s["standby_stopped"], nlohmann::json::array({"1"})) << s.dump(2);
  ASSERT_EQ(s["sets"].size(), 1u) << s.dump(2);
  EXPECT_EQ(s["sets"][0]["release"], "2");
  EXPECT_EQ(s["sets"][0]["weight"], 100);
  EXPECT_NE(::kill(stable_pid, 0), 0) << "release 1's replica still runs";
  EXPECT_NE(http_get(port, "/").body.find(k_broken_marker), std::string::npos);
  EXPECT_FALSE(status().contains("standby_stopped"));  // nothing left to stop
}

// A file of the warm previous release edited on disk: `ztp drift` finds it, and `ztp rollback`
// does not switch traffic onto it but rolls the release out afresh from its image.
TEST_F(BrokenReleaseTest, RollbackNeverServesEditedFilesOfTheWarmSet) {
  write_spec("{blue_green: {preview_listen: " + preview() + ", keep_previous: 10m}}");
  deploy_stable();
  std::string stable_replica = status()["sets"][0]["replicas"][0]["id"];
  auto stable_status = nlohmann::json::parse(
      testing::read_text(home() / "envs" / "dev" / stable_replica / "status.json"));
  auto release_dir = std::filesystem::path(stable_status["workdir"].get<std::string>());
  int stable_pid = stable_status["pid"];
  auto next = variant("next", [](const std::filesystem::path& p) {
    replace_in(p / "src" / "index.html", "AWS ECS Demo",
               std::string("AWS ECS Demo ") + k_broken_marker);
  });
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", next.string()}).exit_code, 0);
  ASSERT_EQ(status()["standby_replicas"], 2);
  auto page = release_dir / "src" / "index.html";
  auto pristine = testing::read_text(page);
  ASSERT_NE(pristine.find(k_stable_marker), std::string::npos) << page;
  testing::write_text(page, pristine + "<!-- edited by hand -->");

  auto drift = ztp({"-o", "json", "drift", "dev"});
  ASSERT_EQ(drift.exit_code, 2) << drift.out << drift.err;
  auto report = nlohmann::json::parse(drift.out);
  ASSERT_EQ(report["findings"].size(), 1u) << report.dump(2);
  EXPECT_EQ(report["findings"][0]["kind"], "standby_files_changed");
  EXPECT_EQ(report["findings"][0]["observed"], "1 file differs: modified src/index.html");

  auto r = ztp({"-o", "json", "rollback", "dev"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["method"], "rollout");
  EXPECT_EQ(out["files_refreshed"], true);
  EXPECT_EQ(out["files_changed"],
            nlohmann::json::parse(R"([{"path": "src/index.html", "change": "modified"}])"));
  EXPECT_EQ(testing::read_text(page), pristine);
  for (int i = 0; i < 10; ++i) {
    auto home_page = http_get(port, "/");
    EXPECT_EQ(home_page.status, 200);
    EXPECT_EQ(home_page.body.find("edited by hand"), std::string::npos) << home_page.body;
    EXPECT_EQ(home_page.body.find(k_broken_marker), std::string::npos);
  }
  EXPECT_NE(::kill(stable_pid, 0), 0) << "the warm replica that ran the edited files still runs";
  auto again = ztp({"drift", "dev"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

// `ztp drift --fix` unpacks an edited standby release afresh and stops its set.
TEST_F(BrokenReleaseTest, DriftFixUnpacksAnEditedStandbyAfreshAndStopsIt) {
  write_spec("{blue_green: {preview_listen: " + preview() + ", keep_previous: 10m}}");
  deploy_stable();
  std::string stable_replica = status()["sets"][0]["replicas"][0]["id"];
  auto release_dir = std::filesystem::path(nlohmann::json::parse(testing::read_text(
      home() / "envs" / "dev" / stable_replica / "status.json"))["workdir"]
                                               .get<std::string>());
  auto next = variant("next", [](const std::filesystem::path& p) {
    replace_in(p / "src" / "index.html", "AWS ECS Demo",
               std::string("AWS ECS Demo ") + k_broken_marker);
  });
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", next.string()}).exit_code, 0);
  auto page = release_dir / "src" / "index.html";
  auto pristine = testing::read_text(page);
  testing::write_text(page, pristine + "<!-- edited by hand -->");

  auto fixed = ztp({"drift", "dev", "--fix"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  EXPECT_EQ(testing::read_text(page), pristine);
  auto s = status();
  ASSERT_EQ(s["sets"].size(), 1u) << s.dump(2);
  EXPECT_EQ(s["sets"][0]["release"], "2");
  EXPECT_NE(http_get(port, "/").body.find(k_broken_marker), std::string::npos);
  auto again = ztp({"drift", "dev"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

}  // namespace
}  // namespace ztp
