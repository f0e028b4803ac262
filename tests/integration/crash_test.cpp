// Commands killed half-way (SIGKILL) on real nginx replicas behind `ztp proxy`, and what the next
// command does about it: `ztp run` runs the killed run's commit again, and every command that
// changes an environment first puts back what a killed `ztp deploy` left.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "support/sample_app.hpp"
#include "support/support.hpp"

namespace ztp {
namespace {

using testing::http_get;
using testing::run_process;
using testing::run_ztp;

constexpr const char* k_rolling = "{rolling: {max_surge: 1, max_unavailable: 0}}";

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    REQUIRE_TOOL("git", "git");
    testing::copy_sample_app(app());
    port = testing::free_port();
    preview_port = testing::free_port();
    env = {"ZTP_HOME=" + home().string(), "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=t@example.com",
           "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=t@example.com"};
  }

  void TearDown() override {
    if (std::filesystem::exists(spec())) {
      run_ztp({"-f", spec().string(), "down"}, env);
    }
  }

  std::filesystem::path app() const { return dir / "app"; }
  std::filesystem::path home() const { return dir / "home"; }
  std::filesystem::path spec() const { return app() / "ztp.yaml"; }

  // dev: three replicas of the sample application, rolled out by `strategy`, its commits taken
  // from the git repository around it.
  void write_spec(std::string strategy) {
    if (auto at = strategy.find("PREVIEW"); at != std::string::npos) {
      strategy.replace(at, 7, std::to_string(preview_port));
    }
    testing::write_text(spec(),
                        testing::sample_app_yaml(
                            {.port = port,
                             .replicas = 3,
                             .strategy = strategy,
                             .source = R"({repo: ., branch: main, paths: ["src/**", "ztp.yaml"]})",
                             .exclude = R"(["*.md"])"}));
  }

  void git(const std::vector<std::string>& args) { testing::git_in(app(), args, env); }

  // Commits everything; returns the commit's SHA.
  std::string commit(const std::string& message) {
    return testing::commit_all(app(), message, env);
  }

  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", spec().string()});
    return run_ztp(args, env, app());
  }

  nlohmann::json json_of(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "json"});
    auto r = ztp(args);
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception&) {
      ADD_FAILURE() << "not JSON: " << r.out << "\n" << r.err;
      return {};
    }
  }

  // Starts `ztp args` in the background and kills it (SIGKILL) as soon as `reached` holds.
  void kill_when(const std::vector<std::string>& args, const std::function<bool()>& reached,
                 const std::string& what) {
    std::vector<std::string> argv{testing::ztp_binary().string(), "-f", spec().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto log = dir / "killed.log";
    pid_t pid = testing::spawn_process(argv, env, log, app());
    ASSERT_GT(pid, 0);
    bool ok = testing::wait_until(reached, std::chrono::seconds(60));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(ok) << "never " << what << "; its output:\n" << testing::read_text(log);
  }

  // The replica directories of dev that hold a status, by id.
  std::map<std::string, nlohmann::json> replicas() {
    std::map<std::string, nlohmann::json> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(home() / "envs" / "dev", ec)) {
      auto text = testing::read_text(e.path() / "status.json");
      if (!text.empty()) {
        out[e.path().filename().string()] = nlohmann::json::parse(text, nullptr, false);
      }
    }
    return out;
  }

  // Whether a replica of dev's release `release` was started (it wrote its status).
  bool replica_appeared(const std::string& release) {
    for (const auto& [id, status] : replicas()) {
      if (id.starts_with("dev-r" + release + "-")) {
        return true;
      }
    }
    return false;
  }

  // dev's release sets in the proxy's saved routes: release -> (weight, backend ids).
  std::map<std::string, std::pair<int, std::set<std::string>>> routes() {
    std::map<std::string, std::pair<int, std::set<std::string>>> out;
    auto doc =
        nlohmann::json::parse(testing::read_text(home() / "proxy" / "routes.json"), nullptr, false);
    if (doc.is_discarded()) {
      return out;
    }
    for (const auto& e : doc["envs"]) {
      if (e["env"] != "dev") {
        continue;
      }
      for (const auto& s : e["release_sets"]) {
        auto& set = out[s["release"].get<std::string>()];
        set.first = s["weight"].get<int>();
        for (const auto& b : s["backends"]) {
          set.second.insert(b["id"].get<std::string>());
        }
      }
    }
    return out;
  }

  // Whether two releases of dev take traffic at once (a rolling deploy at a split).
  bool split() {
    int serving = 0;
    for (const auto& [release, set] : routes()) {
      serving += set.first > 0 && !set.second.empty() ? 1 : 0;
    }
    return serving >= 2;
  }

  // dev as a dead process must not leave it: no release still deploying, `release` alone
  // serving with all three replicas, and no replica running outside the routes.
  void expect_whole(const std::string& release) {
    auto history = json_of({"history", "dev"});
    for (const auto& r : history["releases"]) {
      EXPECT_NE(r["status"], "deploying") << r.dump();
      EXPECT_NE(r["status"], "pending") << r.dump();
    }
    auto s = json_of({"status", "dev"})["environments"][0];
    ASSERT_EQ(s["sets"].size(), 1u) << s.dump(2);
    EXPECT_EQ(s["sets"][0]["release"], release) << s.dump(2);
    EXPECT_EQ(s["sets"][0]["weight"], 100) << s.dump(2);
    auto routed = routes();
    ASSERT_EQ(routed.size(), 1u);
    ASSERT_TRUE(routed.contains(release));
    EXPECT_EQ(routed[release].first, 100);
    auto running = replicas();
    EXPECT_EQ(running.size(), 3u);
    for (const auto& [id, status] : running) {
      pid_t supervisor = status["supervisor_pid"].get<pid_t>();
      ASSERT_EQ(::kill(supervisor, 0), 0) << id << " has no live supervisor";
      EXPECT_EQ(status["release"], release) << id;
      EXPECT_TRUE(routed[release].second.contains(id)) << id << " runs outside the routes";
    }
  }

  // Whether every answer of dev's front door comes from the application's version 2.
  bool serves_only_version_2() {
    for (int i = 0; i < 20; ++i) {
      if (http_get(port, "/").body.find("Version 2") == std::string::npos) {
        return false;
      }
    }
    return true;
  }

  testing::TempDir dir;
  int port = 0;
  int preview_port = 0;
  std::vector<std::string> env;
};

// --- a killed `ztp run` ---

class KilledRunTest : public CrashTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(KilledRunTest, TheNextRunRunsTheKilledRunsCommitAgain) {
  write_spec(GetParam());
  git({"init", "-q", "-b", "main"});
  commit("the sample application");
  auto first = ztp({"run"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;

  testing::replace_in(app() / "src" / "index.html", "AWS ECS Demo", "AWS ECS Demo Version 2");
  std::string v2 = commit("version 2");
  // Killed as the rollout's first new replica appears (before or after it joins the routes).
  kill_when(
      {"run"}, [&] { return replica_appeared("2"); }, "started a replica of release 2");

  auto again = ztp({"run"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.err.find("repaired: interrupted"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("dev rolled back to revision 1"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("was interrupted"), std::string::npos) << again.err;
  EXPECT_TRUE(serves_only_version_2());
  auto history = json_of({"history"});
  ASSERT_EQ(history["runs"].size(), 3u) << history.dump(2);
  const auto& rerun = history["runs"][0];
  const auto& killed = history["runs"][1];
  EXPECT_EQ(rerun["commit"], v2);
  EXPECT_EQ(rerun["status"], "succeeded");
  EXPECT_EQ(killed["commit"], v2);
  EXPECT_EQ(killed["interrupted"], true) << killed.dump(2);
  auto s = json_of({"status", "dev"})["environments"][0];
  EXPECT_EQ(s["release"]["revision"], 3) << s.dump(2);
  for (const auto& set : s["sets"]) {  // blue-green keeps release 1 warm, at weight 0
    EXPECT_EQ(set["weight"], set["release"] == "3" ? 100 : 0) << s.dump(2);
  }
  // Run again, it is done: nothing to run.
  auto third = ztp({"run"});
  EXPECT_EQ(third.exit_code, 0);
  EXPECT_NE(third.out.find("nothing to run"), std::string::npos) << third.out;
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, KilledRunTest,
    ::testing::Values(k_rolling, "{blue_green: {preview_listen: 127.0.0.1:PREVIEW}}",
                      "{canary: {steps: [{weight: 34, pause: 200ms}], analysis: {min_requests: "
                      "1, deadline: 1s, inconclusive: pass}}}"),
    [](const auto& info) {
      return std::string(info.index == 0 ? "rolling" : info.index == 1 ? "blue_green" : "canary");
    });

// --- a killed `ztp deploy` ---

class KilledDeployTest
    : public CrashTest,
      public ::testing::WithParamInterface<std::pair<const char*, std::vector<std::string>>> {};

TEST_P(KilledDeployTest, TheNextCommandPutsTheEnvironmentBackFirst) {
  write_spec(k_rolling);
  ASSERT_EQ(ztp({"deploy", "dev", "--dir", app().string()}).exit_code, 0);
  testing::replace_in(app() / "src" / "index.html", "AWS ECS Demo", "AWS ECS Demo Version 2");
  kill_when(
      {"deploy", "dev", "--dir", app().string()}, [&] { return split(); },
      "reached a split of traffic");

  auto [name, args] = GetParam();
  auto r = ztp(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // It said so, before its own work.
  auto repaired = r.err.find("repaired: interrupted: the process rolling dev to revision 2 died");
  ASSERT_NE(repaired, std::string::npos) << r.err;
  EXPECT_NE(r.err.find("dev rolled back to revision 1"), std::string::npos) << r.err;
  auto history = json_of({"history", "dev"});
  for (const auto& rel : history["releases"]) {
    if (rel["revision"] == 2) {
      EXPECT_EQ(rel["status"], "failed") << rel.dump();
    }
  }
  if (std::string(name) == "deploy") {
    EXPECT_LT(repaired, r.err.find("rolling dev to release 3")) << r.err;
    expect_whole("3");
    EXPECT_TRUE(serves_only_version_2());
  } else {
    expect_whole("1");
    EXPECT_EQ(http_get(port, "/").body.find("Version 2"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Commands, KilledDeployTest,
    ::testing::Values(
        std::pair<const char*, std::vector<std::string>>{"rollback", {"rollback", "dev"}},
        std::pair<const char*, std::vector<std::string>>{"drift_fix", {"drift", "dev", "--fix"}},
        std::pair<const char*, std::vector<std::string>>{"deploy",
                                                         {"deploy", "dev", "--dir", "."}}),
    [](const auto& info) { return std::string(info.param.first); });

}  // namespace
}  // namespace ztp
