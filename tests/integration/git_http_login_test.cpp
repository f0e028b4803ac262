// Fetching a remote repository from a real git smart-HTTP server that asks for a login:
// git-http-backend (through fcgiwrap) behind nginx with basic authentication, on loopback.
// The token comes from ZTP_GIT_TOKEN or from the URL; without one, or with a wrong one, the
// fetch is refused with what to set.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "source/git_auth.hpp"
#include "source/git_fetch.hpp"
#include "source/git_repo.hpp"
#include "support/support.hpp"
#include "unit/source/git_test_repo.hpp"

namespace ztp {
namespace {

constexpr const char* k_user = "deploy";
constexpr const char* k_token = "t0ken-for-ci";

class GitHttpLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    REQUIRE_TOOL("fcgiwrap", "fcgiwrap");
    if (!std::filesystem::exists("/usr/lib/git-core/git-http-backend")) {
      FAIL() << "git-http-backend is missing: apt-get install git";
    }
    repo.emplace(dir.path() / "repos" / "app");
    repo->write("index.html", "v1\n");
    sha = repo->commit("first");

    int fcgi_port = testing::free_port();
    fcgiwrap = testing::spawn_process(
        {testing::find_tool("fcgiwrap"), "-s", "tcp:127.0.0.1:" + std::to_string(fcgi_port)}, {},
        dir.path() / "fcgiwrap.log");
    ASSERT_GT(fcgiwrap, 0);

    port = testing::free_port();
    testing::write_text(dir.path() / "htpasswd", std::string(k_user) + ":{PLAIN}" + k_token + "\n");
    auto conf = dir.path() / "nginx.conf";
    testing::write_text(
        conf,
        // Workers run as the user that starts nginx (root in CI): the test files are private.
        std::string(::geteuid() == 0 ? "user root;\n" : "") + "daemon off;\nworker_processes 1;\n" +
            "pid " + (dir.path() / "nginx.pid").string() + ";\nerror_log " +
            (dir.path() / "error.log").string() +
            " warn;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path " +
            dir.path().string() + ";\n  server {\n    listen 127.0.0.1:" + std::to_string(port) +
            ";\n    location / {\n      auth_basic git;\n      auth_basic_user_file " +
            (dir.path() / "htpasswd").string() +
            ";\n      fastcgi_pass 127.0.0.1:" + std::to_string(fcgi_port) +
            ";\n      fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;\n"
            "      fastcgi_param GIT_PROJECT_ROOT " +
            (dir.path() / "repos").string() +
            ";\n      fastcgi_param GIT_HTTP_EXPORT_ALL \"\";\n"
            "      fastcgi_param PATH_INFO $uri;\n"
            "      fastcgi_param QUERY_STRING $query_string;\n"
            "      fastcgi_param REQUEST_METHOD $request_method;\n"
            "      fastcgi_param CONTENT_TYPE $content_type;\n"
            "      fastcgi_param CONTENT_LENGTH $content_length;\n"
            "      fastcgi_param REMOTE_USER $remote_user;\n"
            "    }\n  }\n}\n");
    nginx = testing::spawn_process({testing::find_tool("nginx"), "-c", conf.string(), "-p",
                                    dir.path().string(), "-e", "stderr"},
                                   {}, dir.path() / "nginx.log");
    ASSERT_GT(nginx, 0);
    ASSERT_TRUE(testing::wait_until([&] { return testing::http_get(port, "/").status == 401; }))
        << testing::read_text(dir.path() / "nginx.log");
  }

  void TearDown() override {
    for (pid_t pid : {nginx, fcgiwrap}) {
      if (pid > 0) {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
      }
    }
  }

  std::string url(const std::string& credentials = "") const {
    return "http://" + credentials + "127.0.0.1:" + std::to_string(port) + "/app";
  }

  // Fetches `from` with ZTP_GIT_TOKEN set to `token` (empty: unset) and ZTP_GIT_USERNAME to
  // the server's user.
  Result<std::filesystem::path> fetch(const std::string& from, const std::string& token) {
    testing::ScopedEnv env{{source::k_env_token, token}, {source::k_env_username, k_user}};
    return source::fetch_mirror(dir.path() / "home", from);
  }

  void expect_fetched(const Result<std::filesystem::path>& fetched) {
    ASSERT_TRUE(fetched.ok()) << fetched.error().message << "\n"
                              << testing::read_text(dir.path() / "error.log");
    auto mirror = source::GitRepo::open(*fetched);
    ASSERT_TRUE(mirror.ok()) << mirror.error().message;
    EXPECT_EQ(mirror->branch_tip("main")->sha, sha);
  }

  testing::TempDir dir;
  std::optional<source::test::GitTestRepo> repo;
  std::string sha;
  int port = 0;
  pid_t nginx = -1;
  pid_t fcgiwrap = -1;
};

TEST_F(GitHttpLoginTest, LogsInWithTheTokenFromTheEnvironment) {
  expect_fetched(fetch(url(), k_token));
}

TEST_F(GitHttpLoginTest, LogsInWithTheTokenInTheUrl) {
  expect_fetched(fetch(url(std::string(k_user) + ":" + k_token + "@"), ""));
}

TEST_F(GitHttpLoginTest, WithoutATokenTheRefusalSaysWhatToSet) {
  auto r = fetch(url(), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("the server asks for a login: set ZTP_GIT_TOKEN"),
            std::string::npos)
      << r.error().message;
}

TEST_F(GitHttpLoginTest, AWrongTokenIsRefusedAndNotRetriedForever) {
  auto r = fetch(url(), "not-the-token");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("refused the login with ZTP_GIT_TOKEN"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().message.find("not-the-token"), std::string::npos);  // never echoed
}

}  // namespace
}  // namespace ztp
