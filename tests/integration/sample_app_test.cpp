// The sample application of application/ served by Debian's nginx exactly as a local replica
// runs it (nginx.local.conf rendered per replica), and `ztp init` writing it out.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "spec/parse.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/template.hpp"

namespace ztp {
namespace {

namespace fsys = std::filesystem;
using testing::http_get;
using testing::HttpResponse;

fsys::path application_dir() { return testing::source_dir() / "application"; }

// Every regular file under `root`, as paths relative to it.
std::set<std::string> list_files(const fsys::path& root) {
  std::set<std::string> files;
  for (const auto& e : fsys::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) {
      files.insert(fsys::relative(e.path(), root).generic_string());
    }
  }
  return files;
}

// A release of the sample application and one replica of it: the release is a copy of
// application/, the replica directory holds the rendered nginx.local.conf and everything
// nginx writes. The nginx started by start() is stopped (SIGQUIT, then SIGKILL) on
// destruction, also when an assertion failed.
class NginxReplica {
 public:
  explicit NginxReplica(const fsys::path& root)
      : m_release_dir(root / "release"), m_replica_dir(root / "replica"), m_logs(root / "logs") {
    fsys::copy(application_dir(), m_release_dir, fsys::copy_options::recursive);
    fsys::create_directories(m_replica_dir);
    fsys::create_directories(m_logs);
  }
  ~NginxReplica() { stop(); }
  NginxReplica(const NginxReplica&) = delete;
  NginxReplica& operator=(const NginxReplica&) = delete;

  // Renders nginx.local.conf with the variables the local target provides.
  Result<void> render(int port) {
    m_port = port;
    auto text = fs::read_file(m_release_dir / "nginx.local.conf");
    if (!text.ok()) {
      return text.take_error();
    }
    std::map<std::string, std::string> vars{{"port", std::to_string(port)},
                                            {"env", "dev"},
                                            {"release", "sha256-test"},
                                            {"replica", "1"},
                                            {"release_dir", m_release_dir.string()},
                                            {"replica_dir", m_replica_dir.string()}};
    auto rendered = render_template(*text, vars);
    if (!rendered.ok()) {
      return rendered.take_error();
    }
    return fs::atomic_write(config(), *rendered);
  }

  // Starts nginx in the foreground with the command of the sample's ztp.yaml, standard output
  // and error to files of the logs directory. `as_user`: run as that user (via setpriv).
  void start(const passwd* as_user = nullptr) {
    std::vector<std::string> argv;
    if (as_user != nullptr) {
      argv = {testing::find_tool("setpriv"), "--reuid=" + std::to_string(as_user->pw_uid),
              "--regid=" + std::to_string(as_user->pw_gid), "--clear-groups"};
    }
    std::vector<std::string> nginx{testing::find_tool("nginx"),
                                   "-p",
                                   m_replica_dir.string(),
                                   "-c",
                                   config().string(),
                                   "-e",
                                   "stderr",
                                   "-g",
                                   "daemon off;"};
    argv.insert(argv.end(), nginx.begin(), nginx.end());
    int out = ::open((m_logs / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int err = ::open((m_logs / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    // The access log reopens /dev/stdout, which an unprivileged nginx may do only on a file
    // it may write.
    ::fchmod(out, 0666);
    m_pid = ::fork();
    if (m_pid == 0) {
      ::setpgid(0, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char*> args;
      for (auto& a : argv) {
        args.push_back(a.data());
      }
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
      _exit(127);
    }
    ::close(out);
    ::close(err);
  }

  // Waits until /health answers 200; false when nginx exited or the deadline passed.
  bool wait_ready() {
    return testing::wait_until([&] {
             if (!running()) {
               return true;
             }
             return http_get(m_port, "/health").status == 200;
           }) &&
           running();
  }

  bool running() {
    if (m_pid <= 0) {
      return false;
    }
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      m_exit_status = status;
      return false;
    }
    return true;
  }

  // Graceful stop: SIGQUIT lets nginx finish, SIGKILL to the group after 10 s. True when it
  // exited by itself with status 0.
  bool stop() {
    if (!running()) {
      return m_exit_status == 0;
    }
    ::kill(m_pid, SIGQUIT);
    if (!testing::wait_until([&] { return !running(); })) {
      ::kill(-m_pid, SIGKILL);
      ::waitpid(m_pid, &m_exit_status, 0);
      m_pid = -1;
      return false;
    }
    return WIFEXITED(m_exit_status) && WEXITSTATUS(m_exit_status) == 0;
  }

  std::string stderr_text() const { return fs::read_file(m_logs / "stderr").value_or(""); }
  std::string stdout_text() const { return fs::read_file(m_logs / "stdout").value_or(""); }
  fsys::path config() const { return m_replica_dir / "nginx.local.conf"; }
  const fsys::path& release_dir() const { return m_release_dir; }
  const fsys::path& replica_dir() const { return m_replica_dir; }
  int port() const { return m_port; }

 private:
  fsys::path m_release_dir;
  fsys::path m_replica_dir;
  fsys::path m_logs;
  int m_port = 0;
  pid_t m_pid = -1;
  int m_exit_status = -1;
};

const std::vector<std::string> k_security_headers{"x-frame-options", "x-content-type-options",
                                                  "referrer-policy", "content-security-policy"};

void expect_security_headers(const HttpResponse& r, const std::string& what) {
  for (const auto& h : k_security_headers) {
    EXPECT_FALSE(r.header(h).empty()) << h << " missing on " << what;
  }
}

class SampleAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("nginx", "nginx-light");
    m_replica = std::make_unique<NginxReplica>(m_root.path());
    auto rendered = m_replica->render(testing::free_port());
    ASSERT_TRUE(rendered.ok()) << rendered.error().message;
  }

  void start(const passwd* as_user = nullptr) {
    m_replica->start(as_user);
    ASSERT_TRUE(m_replica->wait_ready())
        << "nginx did not answer /health on port " << m_replica->port() << ":\n"
        << m_replica->stderr_text();
  }

  testing::TempDir m_root;
  std::unique_ptr<NginxReplica> m_replica;
};

TEST_F(SampleAppTest, TemplateRendersEveryVariable) {
  auto text = *fs::read_file(m_replica->config());
  EXPECT_EQ(text.find("{{"), std::string::npos);
  EXPECT_NE(text.find("listen 127.0.0.1:" + std::to_string(m_replica->port()) + ";"),
            std::string::npos);
  EXPECT_NE(text.find("include " + (m_replica->release_dir() / "conf/site.conf").string()),
            std::string::npos);
}

TEST_F(SampleAppTest, ServesTheSiteWithItsHeadersAndErrorPages) {
  start();
  int port = m_replica->port();

  auto home = http_get(port, "/");
  EXPECT_EQ(home.status, 200);
  EXPECT_NE(home.body.find("AWS ECS Demo"), std::string::npos);
  expect_security_headers(home, "/");
  EXPECT_EQ(home.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(home.header("cache-control"), "no-cache");
  EXPECT_EQ(home.header("content-encoding"), "");

  auto about = http_get(port, "/about.html");
  EXPECT_EQ(about.status, 200);
  EXPECT_NE(about.body.find("About Our Application"), std::string::npos);

  auto health = http_get(port, "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "healthy\n");
  EXPECT_EQ(health.header("content-type").rfind("text/plain", 0), 0u)
      << health.header("content-type");

  auto gz = http_get(port, "/", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  ASSERT_GE(gz.body.size(), 2u);
  EXPECT_EQ(gz.body.substr(0, 2), "\x1f\x8b");  // the gzip magic
  expect_security_headers(gz, "/ (gzip)");

  auto missing = http_get(port, "/no-such-page");
  EXPECT_EQ(missing.status, 404);
  auto page_404 = *fs::read_file(application_dir() / "src/404.html");
  EXPECT_EQ(missing.body, page_404);
  expect_security_headers(missing, "the 404 page");

  // The error pages are served only as errors.
  EXPECT_EQ(http_get(port, "/404.html").status, 404);
  EXPECT_EQ(http_get(port, "/50x.html").status, 404);

  auto css = http_get(port, "/assets/style.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.header("content-type"), "text/css");
  EXPECT_NE(css.header("cache-control").find("max-age="), std::string::npos);
  EXPECT_NE(css.header("cache-control").find("public"), std::string::npos);
  EXPECT_EQ(http_get(port, "/assets/app.js").header("cache-control"), css.header("cache-control"));

  EXPECT_TRUE(m_replica->stop()) << m_replica->stderr_text();
  // The access log went to standard output.
  EXPECT_NE(m_replica->stdout_text().find("\"GET /about.html HTTP/1.1\" 200"), std::string::npos)
      << m_replica->stdout_text();
}

TEST_F(SampleAppTest, WritesOnlyInsideTheReplicaDirectory) {
  auto release_before = list_files(m_replica->release_dir());
  start();
  EXPECT_TRUE(fsys::exists(m_replica->replica_dir() / "nginx.pid"));
  EXPECT_EQ(http_get(m_replica->port(), "/").status, 200);
  EXPECT_TRUE(m_replica->stop()) << m_replica->stderr_text();
  EXPECT_EQ(list_files(m_replica->release_dir()), release_before);
  EXPECT_TRUE(fsys::exists(m_replica->replica_dir() / "client_body_temp"));
  EXPECT_TRUE(fsys::exists(m_replica->replica_dir() / "error.log"));
  EXPECT_EQ(m_replica->stderr_text().find("[emerg]"), std::string::npos);
}

// The same configuration serves as an unprivileged user: run as root (as in CI), the test
// drops to `nobody`; run as any other user, it already is one.
TEST_F(SampleAppTest, ServesAsAnUnprivilegedUser) {
  const passwd* user = nullptr;
  if (::geteuid() == 0) {
    REQUIRE_TOOL("setpriv", "util-linux");
    user = ::getpwnam("nobody");
    ASSERT_NE(user, nullptr) << "no user `nobody` to run nginx as";
    // nobody must reach the release and own the replica directory.
    fsys::permissions(m_root.path(), fsys::perms::owner_all | fsys::perms::group_read |
                                         fsys::perms::group_exec | fsys::perms::others_read |
                                         fsys::perms::others_exec);
    ASSERT_EQ(::chown(m_replica->replica_dir().c_str(), user->pw_uid, user->pw_gid), 0);
  }
  start(user);
  auto home = http_get(m_replica->port(), "/");
  EXPECT_EQ(home.status, 200);
  EXPECT_NE(home.body.find("AWS ECS Demo"), std::string::npos);
  EXPECT_TRUE(m_replica->stop()) << m_replica->stderr_text();
}

bool source_path_triggers(const spec::Spec& s, const std::string& path) {
  return std::any_of(s.source.paths.begin(), s.source.paths.end(),
                     [&](const std::string& pattern) { return glob_match(pattern, path); });
}

TEST(SampleAppSpecTest, TheSampleSpecIsValidAndAsDocumented) {
  auto outcome = spec::read_spec(application_dir() / "ztp.yaml");
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  std::string diagnostics;
  for (const auto& d : outcome->diagnostics) {
    diagnostics += spec::to_string(d) + "\n";
  }
  ASSERT_TRUE(outcome->spec.has_value()) << diagnostics;
  const spec::Spec& s = *outcome->spec;
  EXPECT_EQ(s.app, "sample-site");
  EXPECT_EQ(s.build.templates, std::vector<std::string>{"nginx.local.conf"});
  EXPECT_EQ(s.service.port, 80);
  EXPECT_EQ(s.service.health.path, "/health");

  // A change to the site or its configuration starts a run; one to the README, or to the
  // other pipeline's spec (ztp.containers.yaml, which watches its own paths), does not.
  for (const auto& rel : list_files(application_dir())) {
    bool other = rel.ends_with(".md") || rel.starts_with(".") || rel == "ztp.containers.yaml";
    EXPECT_EQ(source_path_triggers(s, rel), !other) << rel;
  }

  ASSERT_EQ(s.environments.size(), 3u);
  const auto& dev = s.environments[0];
  const auto& qa = s.environments[1];
  const auto& prod = s.environments[2];
  EXPECT_EQ(dev.name, "dev");
  EXPECT_EQ(dev.strategy.kind, spec::Strategy::Kind::rolling);
  EXPECT_EQ(dev.replicas, 2);
  EXPECT_EQ(dev.listen, "127.0.0.1:8081");
  EXPECT_EQ(qa.strategy.kind, spec::Strategy::Kind::blue_green);
  EXPECT_EQ(qa.strategy.blue_green.preview_listen, "127.0.0.1:9082");
  EXPECT_EQ(prod.strategy.kind, spec::Strategy::Kind::canary);
  ASSERT_EQ(prod.strategy.canary.steps.size(), 2u);
  EXPECT_EQ(prod.strategy.canary.steps[0].weight, 10);
  EXPECT_EQ(prod.strategy.canary.steps[1].weight, 50);
  EXPECT_EQ(prod.gate, spec::Gate::approval);
  EXPECT_EQ(prod.replicas, 3);
  EXPECT_EQ(prod.verify, (std::vector<std::string>{"smoke", "security_headers", "error_pages"}));

  const spec::CheckSuite* smoke = s.find_suite("smoke");
  ASSERT_NE(smoke, nullptr);
  std::set<std::string> headers;
  bool checks_404 = false;
  for (const auto& check : smoke->checks) {
    EXPECT_EQ(check.max_latency, std::chrono::seconds(2)) << check.name;
    for (const auto& h : check.expect_headers) {
      headers.insert(h.name);
    }
    checks_404 = checks_404 || check.expect_status == std::vector<int>{404};
  }
  EXPECT_EQ(headers, (std::set<std::string>{"X-Frame-Options", "X-Content-Type-Options",
                                            "Referrer-Policy", "Content-Security-Policy"}));
  EXPECT_TRUE(checks_404);
}

TEST(SampleAppInitTest, InitWritesTheApplicationAndRefusesToOverwrite) {
  testing::TempDir tmp;
  auto dir = tmp / "site";

  auto first = testing::run_ztp({"init", dir.string()});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("ztp validate"), std::string::npos) << first.out;

  auto expected = list_files(application_dir());
  ASSERT_FALSE(expected.empty());
  EXPECT_TRUE(expected.count("ztp.yaml") == 1 && expected.count("nginx.local.conf") == 1);
  EXPECT_EQ(list_files(dir), expected);
  // Beside ztp.yaml, a spec that builds the Dockerfile into a runnable image and runs it in
  // podman; both validate as written.
  EXPECT_NE(first.out.find("ztp -f ztp.containers.yaml deploy dev"), std::string::npos)
      << first.out;
  for (const char* spec : {"ztp.yaml", "ztp.containers.yaml"}) {
    auto valid = testing::run_ztp({"-f", (dir / spec).string(), "validate", "--output", "json"});
    EXPECT_EQ(valid.exit_code, 0) << spec << ": " << valid.out << valid.err;
    if (std::string(spec) == "ztp.containers.yaml") {
      auto j = nlohmann::json::parse(valid.out, nullptr, false);
      ASSERT_TRUE(j.is_object()) << valid.out;
      EXPECT_EQ(j.dump().find("\"target\":\"local\""), std::string::npos) << "every env on podman";
      EXPECT_NE(j.dump().find("\"dockerfile\":\"Dockerfile\""), std::string::npos) << valid.out;
    }
  }
  for (const auto& rel : expected) {
    EXPECT_EQ(*fs::read_file(dir / rel), *fs::read_file(application_dir() / rel)) << rel;
  }

  // A second init changes nothing, names what exists, and exits 1.
  ASSERT_TRUE(fs::atomic_write(dir / "ztp.yaml", "app: mine\n").ok());
  auto second = testing::run_ztp({"init", dir.string()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find((dir / "ztp.yaml").string()), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("--force"), std::string::npos) << second.err;
  EXPECT_EQ(*fs::read_file(dir / "ztp.yaml"), "app: mine\n");

  // --force overwrites; --output json lists the files written.
  auto forced = testing::run_ztp({"init", dir.string(), "--force", "--output", "json"});
  ASSERT_EQ(forced.exit_code, 0) << forced.out << forced.err;
  auto j = nlohmann::json::parse(forced.out);
  std::set<std::string> listed;
  for (const auto& f : j.at("files")) {
    listed.insert(f.get<std::string>());
  }
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(*fs::read_file(dir / "ztp.yaml"), *fs::read_file(application_dir() / "ztp.yaml"));
}

TEST(SampleAppInitTest, InitIntoTheCurrentDirectoryByDefault) {
  testing::TempDir tmp;
  auto r = testing::run_ztp({"init"}, {}, tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(fsys::exists(tmp / "ztp.yaml"));
  EXPECT_TRUE(fsys::exists(tmp / "src/index.html"));
  EXPECT_EQ(r.out.find("cd "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace ztp
