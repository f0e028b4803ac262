// The dashboard in Debian's Chromium, driven by playwright-core (tests/browser/dashboard.mjs):
// the sample application of `ztp init` (prod behind an approval gate, rolled out by a canary)
// in a git repository, watched by the real `ztp serve`; the page approves prod with a deployer
// token, follows the canary's weights and draws the traffic plots. The screenshot is kept in
// the test's build directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include "support/support.hpp"

extern char** environ;

namespace ztp {
namespace {

using testing::run_process;
using testing::run_ztp;

// Replaces the one `from` in file `p`, which must be there.
void replace_in(const std::filesystem::path& p, const std::string& from, const std::string& to) {
  auto text = testing::read_text(p);
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "'" << from << "' is not in " << p;
  text.replace(at, from.size(), to);
  std::ofstream(p) << text;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.pop_back();
  }
  return s;
}

// Starts argv with `env` added, its output into `log`; the pid (-1 when it could not start).
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const std::filesystem::path& cwd, const std::filesystem::path& log) {
  return testing::spawn_process(argv, env, log, cwd);
}

class DashboardBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    REQUIRE_TOOL("git", "git");
    REQUIRE_TOOL("node", "nodejs");
    if (!std::filesystem::exists(chromium())) {
      FAIL() << chromium() << " is missing: run `apt-get install chromium`";
    }
    if (!std::filesystem::exists(browser_dir() / "node_modules" / "playwright-core")) {
      FAIL() << "playwright-core is not installed in " << browser_dir()
             << ": run `npm ci --prefix tests/browser` (from the source directory)";
    }
    env = {"ZTP_HOME=" + (dir / "home").string(), "GIT_AUTHOR_NAME=Test",
           "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=Test",
           "GIT_COMMITTER_EMAIL=t@example.com"};
  }

  void TearDown() override {
    m_stop = true;
    if (m_traffic.joinable()) {
      m_traffic.join();
    }
    if (m_serve > 0) {
      ::kill(m_serve, SIGTERM);
      int status = 0;
      ::waitpid(m_serve, &status, 0);
    }
    if (std::filesystem::exists(spec())) {
      ztp({"down"});
    }
  }

  static std::filesystem::path chromium() {
    const char* c = std::getenv("CHROMIUM");
    return c != nullptr ? c : "/usr/bin/chromium";
  }
  static std::filesystem::path browser_dir() { return testing::source_dir() / "tests" / "browser"; }
  std::filesystem::path repo() const { return dir / "app"; }
  std::filesystem::path spec() const { return repo() / "ztp.yaml"; }

  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", spec().string()});
    return run_ztp(args, env, repo());
  }

  std::string git(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"git", "-C", repo().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_process(argv, env);
    EXPECT_EQ(r.exit_code, 0) << "git failed: " << r.err;
    return trim(r.out);
  }

  // `ztp init`'s application, made quick: its own ports, short health intervals and pauses,
  // polled every second. Prod keeps its approval gate and its two-step canary.
  void make_application() {
    auto init = run_ztp({"init", repo().string()}, env);
    ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
    for (const auto& [from, port] :
         {std::pair{"127.0.0.1:8081", &dev_port}, std::pair{"127.0.0.1:8082", &qa_port},
          std::pair{"127.0.0.1:8083", &prod_port}, std::pair{"127.0.0.1:9082", &preview_port}}) {
      *port = testing::free_port();
      replace_in(spec(), from, "127.0.0.1:" + std::to_string(*port));
    }
    int range = testing::replica_port_range_start(dev_port);
    replace_in(spec(), "port_range: 20000-29999",
               "port_range: " + std::to_string(range) + "-" + std::to_string(range + 300));
    replace_in(spec(), "poll_interval: 30s", "poll_interval: 1s");
    replace_in(spec(), "interval: 2s, timeout: 1s", "interval: 200ms, timeout: 500ms");
    replace_in(spec(), "drain_timeout: 30s", "drain_timeout: 1s");
    replace_in(spec(), "keep_previous: 10m", "keep_previous: 1m");
    replace_in(spec(), "steps: [{weight: 10, pause: 30s}, {weight: 50, pause: 30s}]",
               "steps: [{weight: 25, pause: 4s}, {weight: 50, pause: 4s}]");
    replace_in(spec(), "min_requests: 20, deadline: 5m", "min_requests: 10, deadline: 2m");
    auto valid = ztp({"validate"});
    ASSERT_EQ(valid.exit_code, 0) << valid.out << valid.err;
    ASSERT_NE(testing::read_text(spec()).find("gate: approval"), std::string::npos);
    ASSERT_NE(testing::read_text(spec()).find("canary:"), std::string::npos);

    // main holds the first release; `next` a second one that only the page queues.
    git({"init", "-q", "-b", "main"});
    git({"add", "-A"});
    git({"commit", "-q", "-m", "the sample application"});
    git({"checkout", "-q", "-b", "next"});
    replace_in(repo() / "src" / "index.html", "AWS ECS Demo", "AWS ECS Demo Version 2");
    git({"commit", "-q", "-am", "version 2"});
    next_commit = git({"rev-parse", "HEAD"});
    git({"checkout", "-q", "main"});
  }

  std::string create_token(const std::string& name, const std::string& role) {
    auto r = ztp({"token", "create", name, "--role", role});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return trim(r.out);
  }

  void start_serve() {
    serve_port = testing::free_port();
    auto listen = "127.0.0.1:" + std::to_string(serve_port);
    m_serve =
        spawn({testing::ztp_binary().string(), "-f", spec().string(), "serve", "--listen", listen},
              env, repo(), serve_log());
    ASSERT_GT(m_serve, 0);
    bool up = testing::wait_until([&] { return testing::http_get(serve_port, "/").status == 200; },
                                  std::chrono::seconds(30));
    ASSERT_TRUE(up) << "ztp serve did not answer on " << listen << ":\n"
                    << testing::read_text(serve_log());
  }

  // Requests to prod's front door from now on, so the canary has traffic to judge and the
  // plots have something to draw.
  void start_traffic() {
    m_traffic = std::thread([this] {
      while (!m_stop) {
        testing::http_get(prod_port, "/", {}, std::chrono::milliseconds(1000));
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
    });
  }

  std::filesystem::path serve_log() const { return dir / "serve.log"; }

  testing::TempDir dir;
  std::vector<std::string> env;
  int dev_port = 0;
  int qa_port = 0;
  int prod_port = 0;
  int preview_port = 0;
  int serve_port = 0;
  std::string next_commit;

 private:
  pid_t m_serve = -1;
  std::thread m_traffic;
  std::atomic<bool> m_stop{false};
};

TEST_F(DashboardBrowserTest, ApprovesProdAndFollowsTheCanaryInChromium) {
  make_application();
  auto viewer = create_token("dash-viewer", "viewer");
  auto deployer = create_token("dash-deployer", "deployer");
  ASSERT_FALSE(viewer.empty());
  ASSERT_FALSE(deployer.empty());
  start_serve();
  start_traffic();

  // The screenshot goes beside the test's executable, in the build directory.
  auto artifacts = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "artifacts";
  std::filesystem::create_directories(artifacts);
  auto screenshot = artifacts / "dashboard.png";
  std::filesystem::remove(screenshot);

  auto r = run_process({"node", (browser_dir() / "dashboard.mjs").string()},
                       {"ZTP_DASHBOARD_URL=http://127.0.0.1:" + std::to_string(serve_port) + "/",
                        "ZTP_VIEWER_TOKEN=" + viewer, "ZTP_DEPLOYER_TOKEN=" + deployer,
                        "ZTP_NEXT_COMMIT=" + next_commit, "ZTP_SCREENSHOT=" + screenshot.string(),
                        "CHROMIUM=" + chromium().string()},
                       std::chrono::seconds(540), browser_dir());
  std::cout << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << "the browser test failed (output above); ztp serve said:\n"
                            << testing::read_text(serve_log());
  ASSERT_TRUE(std::filesystem::exists(screenshot));
  EXPECT_GT(std::filesystem::file_size(screenshot), 10000u);
  std::cout << "screenshot: " << screenshot.string() << "\n";
  RecordProperty("screenshot", screenshot.string());
}

}  // namespace
}  // namespace ztp
