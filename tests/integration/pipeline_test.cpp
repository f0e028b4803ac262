// The pipeline end to end: a git repository holding the sample application, `ztp run` through
// dev → qa → [approval] → prod on real nginx replicas behind `ztp proxy`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "store/sqlite_store.hpp"
#include "support/support.hpp"

extern char** environ;

namespace ztp {
namespace {

using testing::http_get;
using testing::run_process;
using testing::run_ztp;

// Replaces every `from` in file `p` (there must be one at least).
void replace_in(const std::filesystem::path& p, const std::string& from, const std::string& to) {
  auto text = testing::read_text(p);
  ASSERT_NE(text.find(from), std::string::npos) << from << " not in " << p;
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  testing::write_text(p, text);
}

// How each environment of the test's ztp.yaml is rolled out.
struct Layout {
  std::string qa_strategy = "blue_green: {preview_listen: 127.0.0.1:QA_PREVIEW, keep_previous: 1m}";
  std::string prod_gate = "approval";
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    REQUIRE_TOOL("git", "git");
    std::filesystem::copy(testing::source_dir() / "application", repo(),
                          std::filesystem::copy_options::recursive);
    for (auto& p : ports) {
      p = testing::free_port();
    }
    env = {"ZTP_HOME=" + home().string(), "GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=t@example.com",
           "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=t@example.com"};
  }

  void TearDown() override {
    if (std::filesystem::exists(spec())) {
      run_ztp({"-f", spec().string(), "down"}, env);
    }
  }

  std::filesystem::path repo() const { return dir / "app"; }
  std::filesystem::path home() const { return dir / "home"; }
  std::filesystem::path spec() const { return repo() / "ztp.yaml"; }
  int dev_port() const { return ports[0]; }
  int qa_port() const { return ports[1]; }
  int prod_port() const { return ports[2]; }

  // The sample application's pipeline, made quick: short health intervals, dev verifies
  // nothing, qa and prod run the smoke suite, prod waits for an approval.
  void write_spec(const Layout& layout = {}) {
    int range = testing::replica_port_range_start(ports[0]);
    std::string qa = layout.qa_strategy;
    if (auto at = qa.find("QA_PREVIEW"); at != std::string::npos) {
      qa.replace(at, 10, std::to_string(ports[3]));
    }
    testing::write_text(spec(), R"(app: sample-site
source: {repo: ., branch: main, paths: ["src/**", "conf/**", "nginx*.conf", "ztp.yaml"]}
build:
  exclude: ["*.md"]
  command: ["nginx", "-p", "{{replica_dir}}", "-c", "{{replica_dir}}/nginx.local.conf", "-e", "stderr", "-g", "daemon off;"]
  templates: ["nginx.local.conf"]
  dockerfile: none
service:
  port: 80
  port_range: )" + std::to_string(range) +
                                    "-" + std::to_string(range + 300) + R"(
  health: {path: /health, interval: 200ms, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 2}
  start_timeout: 8s
  stop_timeout: 5s
  drain_timeout: 2s
checks:
  smoke:
    - name: about page
      path: /about.html
      expect: {status: 200, body_contains: "About Our Application"}
      retry: {attempts: 2, interval: 100ms, deadline: 5s}
environments:
  - name: dev
    listen: 127.0.0.1:)" + std::to_string(dev_port()) +
                                    R"(
    replicas: 1
    strategy: {rolling: {max_surge: 1, max_unavailable: 0}}
  - name: qa
    listen: 127.0.0.1:)" + std::to_string(qa_port()) +
                                    R"(
    replicas: 2
    strategy: {)" + qa +
                                    R"(}
    verify: [smoke]
  - name: prod
    listen: 127.0.0.1:)" + std::to_string(prod_port()) +
                                    R"(
    replicas: 2
    gate: )" + layout.prod_gate +
                                    R"(
    strategy: {rolling: {max_surge: 1, max_unavailable: 0}}
    verify: [smoke]
)");
  }

  void git(const std::vector<std::string>& args) { testing::git_in(repo(), args, env); }

  void commit(const std::string& message) { testing::commit_all(repo(), message, env); }

  void init_repo() {
    git({"init", "-q", "-b", "main"});
    commit("the sample application");
  }

  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", spec().string()});
    return run_ztp(args, env, repo());
  }

  nlohmann::json json_of(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "json"});
    auto r = ztp(args);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code >= 10) << r.err;
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << r.out << "\n" << r.err;
      return {};
    }
  }

  std::string body(int port) { return http_get(port, "/").body; }

  // Runs the pipeline for the tip and approves prod, as a person would from another terminal.
  void run_and_approve() {
    auto r = ztp({"run", "--no-wait-approval"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto status = json_of({"status"});
    ASSERT_EQ(status["runs"].size(), 1u) << status.dump();
    EXPECT_EQ(status["runs"][0]["status"], "awaiting_approval");
    EXPECT_EQ(status["runs"][0]["awaiting"], "prod");
    auto run_id = std::to_string(status["runs"][0]["id"].get<int64_t>());
    auto approved = ztp({"approve", run_id, "--by", "tester"});
    ASSERT_EQ(approved.exit_code, 0) << approved.out << approved.err;
  }

  testing::TempDir dir;
  std::array<int, 4> ports{};
  std::vector<std::string> env;
};

TEST_F(PipelineTest, CommitRunsThroughEveryEnvironmentAndANewCommitReplacesIt) {
  write_spec();
  init_repo();
  run_and_approve();
  for (int port : {dev_port(), qa_port(), prod_port()}) {
    EXPECT_NE(body(port).find("AWS ECS Demo"), std::string::npos) << port;
  }
  auto first_sha =
      run_process({"git", "-C", repo().string(), "rev-parse", "HEAD"}).out.substr(0, 7);

  replace_in(repo() / "src" / "index.html", "AWS ECS Demo", "AWS ECS Demo Version 2");
  commit("say version 2");
  run_and_approve();
  for (int port : {dev_port(), qa_port(), prod_port()}) {
    EXPECT_NE(body(port).find("Version 2"), std::string::npos) << port;
  }

  auto history = json_of({"history"});
  ASSERT_EQ(history["runs"].size(), 2u);
  EXPECT_EQ(history["runs"][0]["status"], "succeeded");
  EXPECT_EQ(history["runs"][1]["status"], "succeeded");
  EXPECT_EQ(history["runs"][1]["short_sha"], first_sha);
  auto second_sha = history["runs"][0]["short_sha"].get<std::string>();
  auto status = json_of({"status"});
  for (const auto& e : status["environments"]) {
    EXPECT_EQ(e["release"]["short_sha"], second_sha) << e.dump();
    EXPECT_EQ(e["release"]["digest"], history["runs"][0]["digest"]) << e.dump();
  }
  // The image carries both tags and the commit it was built from.
  auto tags = run_process(
      {"skopeo", "inspect", "--raw", "oci:" + (home() / "oci").string() + ":" + second_sha});
  EXPECT_EQ(tags.exit_code, 0) << tags.err;
}

TEST_F(PipelineTest, CommitOutsideThePathFilterTriggersNothing) {
  write_spec(Layout{.prod_gate = "auto"});
  init_repo();
  auto first = ztp({"run"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;

  testing::write_text(repo() / "NOTES.md", "only notes\n");
  commit("notes only");
  auto second = ztp({"run"});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("nothing to run"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("no changed path matches"), std::string::npos) << second.out;
  EXPECT_EQ(json_of({"history"})["runs"].size(), 1u);
}

TEST_F(PipelineTest, UncommittedChangesNeverShip) {
  write_spec(Layout{.prod_gate = "auto"});
  init_repo();
  replace_in(repo() / "src" / "index.html", "AWS ECS Demo", "UNCOMMITTED EDIT");
  auto r = ztp({"run", "--until", "dev"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(body(dev_port()).find("AWS ECS Demo"), std::string::npos);
  EXPECT_EQ(body(dev_port()).find("UNCOMMITTED"), std::string::npos);
  EXPECT_NE(http_get(qa_port(), "/").status, 200);  // --until dev: qa never touched
}

TEST_F(PipelineTest, FailingQaRollsBackAndNeverReachesProd) {
  write_spec(Layout{.prod_gate = "auto"});
  init_repo();
  auto first = ztp({"run"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;

  replace_in(repo() / "src" / "index.html", "AWS ECS Demo", "AWS ECS Demo Version 2");
  replace_in(repo() / "src" / "about.html", "About Our Application", "Something Else");
  commit("version 2 with a broken about page");
  auto second = ztp({"run"});
  EXPECT_TRUE(second.exit_code == 11 || second.exit_code == 12) << second.exit_code << second.err;
  // The failure is told once as it happens (standard error), once in the outcome (output).
  auto count = [](const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count(second.err, "About Our Application"), 1) << second.err;
  EXPECT_EQ(count(second.out, "About Our Application"), 1) << second.out;

  EXPECT_NE(body(dev_port()).find("Version 2"), std::string::npos);  // dev verifies nothing
  EXPECT_EQ(body(qa_port()).find("Version 2"), std::string::npos);   // rolled back
  EXPECT_NE(body(qa_port()).find("AWS ECS Demo"), std::string::npos);
  EXPECT_EQ(body(prod_port()).find("Version 2"), std::string::npos);  // never reached
  EXPECT_NE(body(prod_port()).find("AWS ECS Demo"), std::string::npos);

  auto history = json_of({"history", "prod"});
  ASSERT_EQ(history["runs"].size(), 1u) << "the failed run must not have a stage in prod";
  EXPECT_EQ(history["releases"].size(), 1u);
  auto all = json_of({"history"});
  EXPECT_EQ(all["runs"][0]["status"], "rolled_back");
}

TEST_F(PipelineTest, AnImageMarkedBadInProdIsRefusedAtItsGateUntilUnmarked) {
  write_spec();
  init_repo();
  auto first = ztp({"run", "--no-wait-approval"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  auto runs = json_of({"history"})["runs"];
  ASSERT_EQ(runs.size(), 1u) << runs.dump();
  auto digest = runs[0]["digest"].get<std::string>();
  auto short_sha = runs[0]["short_sha"].get<std::string>();
  {
    auto store = store::SqliteStore::open(home() / "state.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->mark_bad(digest, "rolled back by tester", std::string("prod")).ok());
  }

  // The same image again: refused at prod's gate, nobody asked to approve it.
  auto refused = ztp({"run", "--always", "--no-wait-approval"});
  EXPECT_EQ(refused.exit_code, 14) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("is marked bad in prod (rolled back by tester)"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("`ztp unmark prod sha256:"), std::string::npos) << refused.err;
  EXPECT_NE(http_get(prod_port(), "/").status, 200);
  // The first run, superseded by the second, can no longer be approved; nor can one that
  // does not exist.
  auto late = ztp({"approve", "1"});
  EXPECT_EQ(late.exit_code, 1) << late.err;
  EXPECT_NE(late.err.find("superseded by run 2"), std::string::npos) << late.err;
  EXPECT_EQ(late.err.find("approved by"), std::string::npos) << late.err;
  auto nothing = ztp({"approve", "999"});
  EXPECT_EQ(nothing.exit_code, 1);
  EXPECT_NE(nothing.err.find("there is no run 999"), std::string::npos) << nothing.err;

  auto unmarked = ztp({"unmark", "prod", short_sha, "--by", "tester"});
  ASSERT_EQ(unmarked.exit_code, 0) << unmarked.err;
  EXPECT_NE(unmarked.out.find("image " + digest + " is no longer marked bad in prod"),
            std::string::npos)
      << unmarked.out;
  EXPECT_TRUE(json_of({"unmark", "prod"})["marks"].empty());
  auto twice = ztp({"unmark", "prod", short_sha});
  EXPECT_EQ(twice.exit_code, 0) << twice.err;
  EXPECT_NE(twice.out.find("is not marked bad in prod; nothing to unmark"), std::string::npos)
      << twice.out;
  {
    auto store = store::SqliteStore::open(home() / "state.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto audit = (*store)->list_audit(100);
    ASSERT_TRUE(audit.ok());
    int unmarks = 0;
    for (const auto& a : *audit) {
      EXPECT_NE(a.action, "approve") << "a refused approval is not audited";
      if (a.action == "unmark") {
        ++unmarks;
        EXPECT_EQ(a.actor, "tester");
        EXPECT_EQ(a.target, "env prod");
      }
    }
    EXPECT_EQ(unmarks, 1);
  }

  // A later run passes the check and waits at prod's gate for its approval.
  auto again = ztp({"run", "--always", "--no-wait-approval"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  auto status = json_of({"status"});
  ASSERT_FALSE(status["runs"].empty()) << status.dump();
  EXPECT_EQ(status["runs"][0]["id"], 3);
  EXPECT_EQ(status["runs"][0]["status"], "awaiting_approval");
}

// Starts `ztp run` in the background; its output goes to files.
pid_t spawn_ztp(const std::vector<std::string>& args, const std::vector<std::string>& env,
                const std::filesystem::path& out) {
  std::vector<std::string> argv{testing::ztp_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::spawn_process(argv, env, out);
}

TEST_F(PipelineTest, KilledRunIsRolledBackCleanlyByTheNextRun) {
  // qa holds a canary at 50% for a long pause: the run is killed there, half-way.
  write_spec(Layout{.qa_strategy = "canary: {steps: [{weight: 50, pause: 5m}], analysis: "
                                   "{min_requests: 1000000, deadline: 10m}}",
                    .prod_gate = "auto"});
  init_repo();
  auto first = ztp({"run"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;

  replace_in(repo() / "src" / "index.html", "AWS ECS Demo", "AWS ECS Demo Version 2");
  commit("version 2");
  auto log = dir / "run.log";
  pid_t pid = spawn_ztp({"-f", spec().string(), "run"}, env, log);
  ASSERT_GT(pid, 0);
  // Both versions answer through qa's front door: the canary is at 50%.
  bool mixed = testing::wait_until(
      [&] {
        bool v1 = false;
        bool v2 = false;
        for (int i = 0; i < 20; ++i) {
          auto b = body(qa_port());
          (b.find("Version 2") != std::string::npos ? v2 : v1) = true;
        }
        return v1 && v2;
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(mixed) << testing::read_text(log);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);

  // The next run repairs qa before anything else, and says so.
  auto again = ztp({"run", "--until", "dev"});
  EXPECT_NE(again.err.find("repaired"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("qa rolled back to revision 1"), std::string::npos) << again.err;
  for (int i = 0; i < 20; ++i) {
    auto b = body(qa_port());
    ASSERT_EQ(b.find("Version 2"), std::string::npos) << "qa still mixed";
    ASSERT_NE(b.find("AWS ECS Demo"), std::string::npos);
  }
  auto qa = json_of({"status", "qa"});
  ASSERT_EQ(qa["environments"][0]["sets"].size(), 1u) << qa.dump();
  EXPECT_EQ(qa["environments"][0]["sets"][0]["weight"], 100);
  auto history = json_of({"history"});
  bool interrupted = false;
  for (const auto& r : history["runs"]) {
    if (r["reason"].get<std::string>().find("interrupted") != std::string::npos) {
      interrupted = true;
      EXPECT_EQ(r["status"], "rolled_back");
    }
  }
  EXPECT_TRUE(interrupted) << history.dump(2);
}

TEST_F(PipelineTest, RejectedApprovalEndsTheRunAndLeavesProdAlone) {
  write_spec();
  init_repo();
  auto r = ztp({"run", "--no-wait-approval"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto status = json_of({"status"});
  ASSERT_EQ(status["runs"].size(), 1u);
  auto id = std::to_string(status["runs"][0]["id"].get<int64_t>());
  auto rejected = ztp({"reject", id, "-m", "not today"});
  EXPECT_EQ(rejected.exit_code, 0) << rejected.err;
  EXPECT_NE(http_get(prod_port(), "/").status, 200);
  auto history = json_of({"history"});
  EXPECT_EQ(history["runs"][0]["status"], "cancelled");
  EXPECT_NE(history["runs"][0]["reason"].get<std::string>().find("not today"), std::string::npos);
  auto twice = ztp({"approve", id});
  EXPECT_NE(twice.exit_code, 0);
}

}  // namespace
}  // namespace ztp
