// The checks engine and `ztp verify` against real loopback HTTP servers.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "spec/parse.hpp"
#include "support/support.hpp"
#include "verify/suites.hpp"
#include "verify/verifier.hpp"

namespace ztp::verify {
namespace {

using std::chrono::milliseconds;

// What the test server answers.
struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  milliseconds delay{0};
};

// A request as the test server saw it.
struct Seen {
  std::string method;
  std::string path;
  std::string head;  // request line and headers
  std::string body;
};

// A small HTTP/1.1 server on 127.0.0.1 (one thread per connection, Connection: close) that
// answers with `handler` and counts concurrent connections.
class TestServer {
 public:
  using Handler = std::function<Reply(const Seen&)>;

  explicit TestServer(Handler handler) : m_handler(std::move(handler)) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(m_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(m_fd, 64) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1:0");
    }
    socklen_t len = sizeof addr;
    ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    m_acceptor = std::thread([this] { accept_loop(); });
  }

  ~TestServer() {
    m_stop = true;
    m_acceptor.join();
    ::close(m_fd);
    std::lock_guard lock(m_mu);
    for (auto& t : m_connections) {
      t.join();
    }
  }

  int port() const { return m_port; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", m_port); }
  int max_concurrent() const { return m_max_concurrent; }
  int requests() const { return m_requests; }
  // Blocks the calling handler until `n` connections have been open at once, or `timeout`
  // passes.
  bool wait_for_concurrent(int n, milliseconds timeout) {
    std::unique_lock lock(m_conc_mu);
    return m_conc_cv.wait_for(lock, timeout, [&] { return m_max_concurrent >= n; });
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(m_mu);
    return m_seen;
  }

 private:
  void accept_loop() {
    while (!m_stop) {
      pollfd p{m_fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        continue;
      }
      int client = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        continue;
      }
      std::lock_guard lock(m_mu);
      m_connections.emplace_back([this, client] { serve(client); });
    }
  }

  void serve(int fd) {
    {
      std::lock_guard lock(m_conc_mu);
      ++m_current;
      m_max_concurrent = std::max(m_max_concurrent.load(), m_current);
    }
    m_conc_cv.notify_all();
    std::string data;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t need = 0;
    while (true) {
      if (head_end == std::string::npos) {
        head_end = data.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::smatch m;
          std::string head = data.substr(0, head_end);
          if (std::regex_search(head, m,
                                std::regex("content-length: *(\\d+)", std::regex::icase))) {
            need = std::stoul(m[1]);
          }
        }
      }
      if (head_end != std::string::npos && data.size() >= head_end + 4 + need) {
        break;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) {
        break;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      data.append(buf, static_cast<size_t>(n));
    }
    if (head_end != std::string::npos) {
      Seen seen;
      seen.head = data.substr(0, head_end);
      seen.body = data.substr(head_end + 4);
      std::string line = seen.head.substr(0, seen.head.find("\r\n"));
      size_t sp1 = line.find(' ');
      size_t sp2 = line.find(' ', sp1 + 1);
      seen.method = line.substr(0, sp1);
      seen.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
      {
        std::lock_guard lock(m_mu);
        m_seen.push_back(seen);
      }
      ++m_requests;
      Reply reply = m_handler(seen);
      if (reply.delay.count() > 0) {
        std::this_thread::sleep_for(reply.delay);
      }
      std::string out = fmt::format("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                                    reply.status, reply.body.size());
      for (const auto& [k, v] : reply.headers) {
        out += k + ": " + v + "\r\n";
      }
      out += "\r\n";
      if (seen.method != "HEAD") {
        out += reply.body;
      }
      size_t off = 0;
      while (off < out.size()) {
        ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
          break;
        }
        off += static_cast<size_t>(n);
      }
    }
    ::close(fd);
    {
      std::lock_guard lock(m_conc_mu);
      --m_current;
    }
  }

  Handler m_handler;
  int m_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::thread m_acceptor;
  mutable std::mutex m_mu;
  std::vector<std::thread> m_connections;
  std::vector<Seen> m_seen;
  std::mutex m_conc_mu;
  std::condition_variable m_conc_cv;
  int m_current = 0;
  std::atomic<int> m_max_concurrent{0};
  std::atomic<int> m_requests{0};
};

const std::vector<std::pair<std::string, std::string>> k_security_headers{
    {"X-Frame-Options", "SAMEORIGIN"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "strict-origin-when-cross-origin"},
    {"Content-Security-Policy", "default-src 'self'"}};

const std::string k_home = "<html><title>AWS ECS Demo</title><body>Welcome</body></html>";

// A healthy site: `/` with content and security headers, `/about.html`, 404 elsewhere.
Reply good_site(const Seen& req) {
  if (req.path == "/") {
    return Reply{200, k_security_headers, k_home, milliseconds(0)};
  }
  if (req.path == "/about.html") {
    return Reply{200, k_security_headers, "About Our Application", milliseconds(0)};
  }
  return Reply{404, k_security_headers, "Page Not Found", milliseconds(0)};
}

spec::Check check_at(std::string path) {
  spec::Check check;
  check.path = std::move(path);
  check.name = "GET " + check.path;
  check.retry.attempts = 1;
  check.retry.interval = milliseconds(50);
  check.retry.max_interval = milliseconds(200);
  check.retry.jitter = false;
  check.retry.deadline = std::chrono::seconds(20);
  return check;
}

CheckResult run_one(const spec::Check& check, const std::string& base) {
  CircuitBreaker breaker;
  auto report = verify({spec::CheckSuite{"smoke", {check}, {}}}, base, breaker);
  return report.suites.at(0).checks.at(0);
}

TEST(ChecksTest, HealthySitePasses) {
  TestServer server(good_site);
  auto check = check_at("/");
  check.body_contains = {"AWS ECS Demo"};
  check.body_regex = "<title>.*</title>";
  check.expect_headers = {{"X-Frame-Options", std::string("SAMEORIGIN"), std::nullopt, true},
                          {"Content-Security-Policy", std::nullopt, std::string("self"), true}};
  check.max_latency = std::chrono::seconds(5);
  auto r = run_one(check, server.url());
  EXPECT_TRUE(r.passed) << r.reason;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.url, server.url() + "/");
}

TEST(ChecksTest, ServerErrorIsUnhealthy) {
  TestServer server([](const Seen&) { return Reply{500, {}, "oops", milliseconds(0)}; });
  auto r = run_one(check_at("/"), server.url());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.failure, Errc::unhealthy);
  EXPECT_EQ(r.reason, "GET /: status 500, expected 200");
  EXPECT_EQ(r.status, 500);
}

TEST(ChecksTest, SlowResponseIsATimeout) {
  TestServer server([](const Seen&) { return Reply{200, {}, "late", milliseconds(300)}; });
  auto check = check_at("/slow");
  check.max_latency = milliseconds(100);
  auto r = run_one(check, server.url());
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.failure, Errc::timeout);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.reason, m, std::regex("GET /slow: took (\\d+) ms, limit 100 ms")))
      << r.reason;
  EXPECT_GE(std::stoi(m[1]), 300);
}

TEST(ChecksTest, MissingSecurityHeaderFailsTheBuiltinSuite) {
  TestServer server([](const Seen& req) {
    Reply reply = good_site(req);
    std::erase_if(reply.headers,
                  [](const auto& h) { return h.first == "Content-Security-Policy"; });
    return reply;
  });
  auto suite = builtin_suite("security_headers", server.url());
  ASSERT_TRUE(suite.has_value());
  suite->checks.at(0).retry.attempts = 1;
  CircuitBreaker breaker;
  auto report = verify({*suite}, server.url(), breaker);
  const auto& r = report.suites.at(0).checks.at(0);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.failure, Errc::unhealthy);
  EXPECT_EQ(r.reason, "GET /: header Content-Security-Policy missing");
  EXPECT_EQ(report.failure(), Errc::unhealthy);
}

TEST(ChecksTest, BuiltinSuitesPassOnAHealthySite) {
  TestServer server(good_site);
  spec::Spec spec;
  spec::Environment env;
  env.name = "dev";
  env.verify = {"security_headers", "error_pages"};
  auto suites = environment_suites(spec, env, server.url());
  ASSERT_TRUE(suites.ok()) << suites.error().message;
  CircuitBreaker breaker;
  auto report = verify(*suites, server.url(), breaker);
  EXPECT_TRUE(report.passed()) << report.to_result().error().message;
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 2u);
  bool probed = std::any_of(seen.begin(), seen.end(),
                            [](const Seen& s) { return s.path.rfind("/ztp-probe-", 0) == 0; });
  EXPECT_TRUE(probed);
}

TEST(ChecksTest, UnknownPathAnswering200FailsErrorPages) {
  TestServer server([](const Seen&) { return Reply{200, {}, k_home, milliseconds(0)}; });
  auto suite = builtin_suite("error_pages", server.url());
  ASSERT_TRUE(suite.has_value());
  for (auto& check : suite->checks) {
    check.retry.attempts = 1;
  }
  CircuitBreaker breaker;
  auto report = verify({*suite}, server.url(), breaker);
  const auto& r = report.suites.at(0).checks.at(0);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(std::regex_match(r.reason,
                               std::regex("GET /ztp-probe-[0-9a-f]{16}: status 200, expected 404")))
      << r.reason;
}

TEST(ChecksTest, WrongContentNamesTheMissingTextAndSize) {
  TestServer server([](const Seen&) {
    return Reply{200, k_security_headers, std::string(1834, 'x'), milliseconds(0)};
  });
  auto check = check_at("/about.html");
  check.body_contains = {"About Our Application"};
  auto r = run_one(check, server.url());
  EXPECT_EQ(r.failure, Errc::unhealthy);
  EXPECT_EQ(r.reason,
            "GET /about.html: body does not contain \"About Our Application\" (got 1834 bytes)");
}

TEST(ChecksTest, RefusedConnectionIsUnavailable) {
  int port = ztp::testing::free_port();
  std::string base = fmt::format("http://127.0.0.1:{}", port);
  auto r = run_one(check_at("/"), base);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.failure, Errc::unavailable);
  EXPECT_EQ(r.reason, fmt::format("GET /: connection refused ({}/)", base));
  EXPECT_FALSE(r.status.has_value());
}

TEST(ChecksTest, RetriesUntilTheServerRecovers) {
  std::atomic<int> calls{0};
  TestServer server([&calls](const Seen&) {
    return ++calls < 3 ? Reply{503, {}, "", milliseconds(0)}
                       : Reply{200, {}, "ok", milliseconds(0)};
  });
  auto check = check_at("/");
  check.retry.attempts = 5;
  auto r = run_one(check, server.url());
  EXPECT_TRUE(r.passed) << r.reason;
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(server.requests(), 3);
}

TEST(ChecksTest, CircuitBreakerStopsHittingAFailingServer) {
  TestServer server([](const Seen&) { return Reply{502, {}, "", milliseconds(0)}; });
  auto check = check_at("/");
  check.retry.attempts = 20;
  check.retry.interval = milliseconds(10);
  check.retry.max_interval = milliseconds(10);
  check.retry.circuit_breaker = 3;
  auto r = run_one(check, server.url());
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(r.failure, Errc::unhealthy);
  EXPECT_EQ(r.reason, fmt::format("GET /: not sent: circuit breaker open for {} after 3 "
                                  "consecutive failures (last: GET /: status 502, expected 200)",
                                  server.url()));
}

TEST(ChecksTest, SendsMethodHeadersAndBody) {
  TestServer server([](const Seen&) { return Reply{201, {}, "", milliseconds(0)}; });
  auto check = check_at("/api/items");
  check.method = "POST";
  check.headers = {{"Content-Type", "application/json"}, {"X-Probe", "ztp"}};
  check.body = R"({"name":"x"})";
  check.expect_status = {201};
  auto r = run_one(check, server.url());
  EXPECT_TRUE(r.passed) << r.reason;
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/api/items");
  EXPECT_EQ(seen[0].body, R"({"name":"x"})");
  EXPECT_NE(seen[0].head.find("X-Probe: ztp"), std::string::npos) << seen[0].head;
}

TEST(ChecksTest, ChecksOfASuiteRunConcurrently) {
  constexpr int k_checks = 4;
  TestServer* self = nullptr;
  TestServer server([&self](const Seen&) {
    // Answers only once every check is connected (bounded): sequential checks would never see
    // more than one connection at a time.
    self->wait_for_concurrent(k_checks, milliseconds(3000));
    return Reply{200, {}, "ok", milliseconds(0)};
  });
  self = &server;
  std::vector<spec::Check> checks;
  for (int i = 0; i < k_checks; ++i) {
    checks.push_back(check_at(fmt::format("/slow/{}", i)));
  }
  CircuitBreaker breaker;
  auto report = verify({spec::CheckSuite{"slow", checks, {}}}, server.url(), breaker);
  EXPECT_TRUE(report.passed());
  EXPECT_EQ(server.max_concurrent(), k_checks);
  EXPECT_EQ(server.requests(), k_checks);
}

// ---- ztp verify, end to end ----

class VerifyCommandTest : public ::testing::Test {
 protected:
  void write_spec(int port) {
    std::string yaml = fmt::format(R"(app: sample-site
build:
  command: ["true"]
checks:
  smoke:
    - name: home page
      path: /
      expect:
        status: 200
        body_contains: "AWS ECS Demo"
        max_latency: 5s
      retry: {{attempts: 1}}
    - name: about page
      path: /about.html
      expect:
        body_contains: "About Our Application"
      retry: {{attempts: 1}}
  slow:
    - path: /slow
      expect:
        max_latency: 100ms
      retry: {{attempts: 1}}
environments:
  - name: dev
    listen: 127.0.0.1:{}
    verify: [smoke, security_headers, error_pages]
  - name: qa
    listen: 127.0.0.1:{}
    verify: [smoke]
)",
                                   port, ztp::testing::free_port());
    std::ofstream(m_dir / "ztp.yaml") << yaml;
    auto parsed = spec::parse_spec(yaml, "ztp.yaml", spec::process_env);
    for (const auto& d : parsed.diagnostics) {
      ADD_FAILURE() << spec::to_string(d);
    }
  }

  ztp::testing::ProcessResult run_cmd(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", (m_dir / "ztp.yaml").string()});
    return ztp::testing::run_ztp(args, {}, m_dir.path(), std::chrono::seconds(60));
  }

  ztp::testing::TempDir m_dir;
};

TEST_F(VerifyCommandTest, PassingEnvironmentExitsZero) {
  TestServer server([](const Seen& req) {
    if (req.path == "/slow") {
      return Reply{200, {}, "", milliseconds(300)};
    }
    return good_site(req);
  });
  write_spec(server.port());
  auto run = run_cmd({"verify", "dev"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("✓ home page"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("4 of 4 checks passed in 3 suites"), std::string::npos) << run.out;
}

TEST_F(VerifyCommandTest, FailedCheckExitsUnhealthyWithTheReason) {
  TestServer server([](const Seen& req) {
    Reply reply = good_site(req);
    if (req.path == "/about.html") {
      reply.body = "Under construction";
    }
    return reply;
  });
  write_spec(server.port());
  auto run = run_cmd({"verify", "dev"});
  EXPECT_EQ(run.exit_code, 11) << run.out << run.err;
  EXPECT_NE(run.out.find("✗ about page"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("GET /about.html: body does not contain \"About Our Application\" (got "
                         "18 bytes)"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("3 of 4 checks passed in 3 suites"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("failed: unhealthy"), std::string::npos) << run.out;
}

TEST_F(VerifyCommandTest, JsonOutputCarriesEveryResult) {
  TestServer server(good_site);
  write_spec(server.port());
  auto run = run_cmd({"--output", "json", "verify", "dev", "--suite", "smoke"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["environment"], "dev");
  EXPECT_EQ(j["passed"], true);
  EXPECT_EQ(j["url"], server.url());
  ASSERT_EQ(j["suites"].size(), 1u);
  EXPECT_EQ(j["suites"][0]["name"], "smoke");
  ASSERT_EQ(j["suites"][0]["checks"].size(), 2u);
  EXPECT_EQ(j["suites"][0]["checks"][0]["name"], "home page");
  EXPECT_EQ(j["suites"][0]["checks"][0]["status"], 200);
  EXPECT_EQ(j["suites"][0]["checks"][0]["attempts"], 1);
}

TEST_F(VerifyCommandTest, SlowSuiteExitsTimeout) {
  TestServer server([](const Seen& req) {
    return req.path == "/slow" ? Reply{200, {}, "", milliseconds(300)} : good_site(req);
  });
  write_spec(server.port());
  auto run = run_cmd({"--output", "json", "verify", "dev", "--suite", "slow"});
  EXPECT_EQ(run.exit_code, 13) << run.out << run.err;
  auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["failure"], "timeout");
  EXPECT_EQ(j["suites"][0]["checks"][0]["failure"], "timeout");
}

TEST_F(VerifyCommandTest, UrlOverrideToAClosedPortExitsNetwork) {
  TestServer server(good_site);
  write_spec(server.port());
  std::string closed = fmt::format("http://127.0.0.1:{}", ztp::testing::free_port());
  auto run = run_cmd({"verify", "dev", "--suite", "smoke", "--url", closed});
  EXPECT_EQ(run.exit_code, 10) << run.out << run.err;
  EXPECT_NE(run.out.find(fmt::format("GET /: connection refused ({}/)", closed)), std::string::npos)
      << run.out;
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(VerifyCommandTest, UnknownEnvironmentOrSuiteNamesTheKnownOnes) {
  TestServer server(good_site);
  write_spec(server.port());
  auto env = run_cmd({"verify", "prod"});
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_NE(env.err.find("no environment `prod`; known: dev, qa"), std::string::npos) << env.err;
  auto suite = run_cmd({"verify", "dev", "--suite", "smok"});
  EXPECT_EQ(suite.exit_code, 1);
  EXPECT_NE(suite.err.find("no check suite `smok`; known: smoke, slow, security_headers (built "
                           "in), error_pages (built in)"),
            std::string::npos)
      << suite.err;
  EXPECT_EQ(server.requests(), 0);
}

}  // namespace
}  // namespace ztp::verify
