#include "verify/verifier.hpp"

#include <gtest/gtest.h>

#include "fake_transport.hpp"
#include "support/fake_clock.hpp"

namespace ztp::verify {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeReply;
using testing::FakeTransport;
using testing::refused;
using testing::reply;

const std::string k_base = "http://127.0.0.1:8081";

spec::Check check_at(std::string path, int attempts = 1) {
  spec::Check check;
  check.name = "GET " + path;
  check.path = std::move(path);
  check.retry.attempts = attempts;
  check.retry.interval = seconds(1);
  check.retry.backoff = 2.0;
  check.retry.max_interval = seconds(10);
  check.retry.jitter = false;
  check.retry.deadline = seconds(60);
  check.retry.circuit_breaker = 0;
  return check;
}

spec::CheckSuite suite_of(std::vector<spec::Check> checks, std::string name = "smoke") {
  return spec::CheckSuite{std::move(name), std::move(checks), {}};
}

struct Harness {
  ztp::testing::FakeClock clock;
  CircuitBreaker breaker{seconds(30)};
  FakeTransport transport;
  Verifier verifier;

  explicit Harness(FakeTransport::Responder responder)
      : transport(clock, std::move(responder)),
        verifier(transport, clock, breaker, [] { return 0.5; }) {}

  milliseconds since(std::chrono::steady_clock::time_point start, size_t request) const {
    return std::chrono::duration_cast<milliseconds>(transport.sent().at(request).at - start);
  }
};

TEST(VerifierTest, PassingSuite) {
  Harness h([](const Request&, int) { return reply(200, "hello"); });
  auto check = check_at("/");
  check.body_contains = {"hello"};
  auto report = h.verifier.run({suite_of({check})}, k_base);
  ASSERT_EQ(report.suites.size(), 1u);
  const auto& r = report.suites[0].checks.at(0);
  EXPECT_TRUE(r.passed) << r.reason;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.url, "http://127.0.0.1:8081/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.latency, milliseconds(5));
  EXPECT_TRUE(report.passed());
  EXPECT_TRUE(report.to_result().ok());
}

TEST(VerifierTest, RetriesWithBackoffUntilItPasses) {
  Harness h(
      [](const Request&, int n) { return n < 3 ? reply(503, "", milliseconds(0)) : reply(200); });
  auto start = h.clock.now();
  auto report = h.verifier.run({suite_of({check_at("/", 5)})}, k_base);
  const auto& r = report.suites[0].checks.at(0);
  EXPECT_TRUE(r.passed) << r.reason;
  EXPECT_EQ(r.attempts, 3);
  ASSERT_EQ(h.transport.sent().size(), 3u);
  EXPECT_EQ(h.since(start, 0), milliseconds(0));
  EXPECT_EQ(h.since(start, 1), milliseconds(1000));
  EXPECT_EQ(h.since(start, 2), milliseconds(3000));
}

TEST(VerifierTest, JitterComesFromTheInjectedRandomSource) {
  Harness h(
      [](const Request&, int n) { return n < 3 ? reply(500, "", milliseconds(0)) : reply(200); });
  auto check = check_at("/", 5);
  check.retry.jitter = true;
  auto start = h.clock.now();
  auto report = h.verifier.run({suite_of({check})}, k_base);
  EXPECT_TRUE(report.passed());
  ASSERT_EQ(h.transport.sent().size(), 3u);
  // random() = 0.5: three quarters of 1s, then of 2s.
  EXPECT_EQ(h.since(start, 1), milliseconds(750));
  EXPECT_EQ(h.since(start, 2), milliseconds(750 + 1500));
}

TEST(VerifierTest, GivesUpAfterTheLastAttemptWithTheLastReason) {
  Harness h([](const Request&, int) { return reply(500, "", milliseconds(0)); });
  auto report = h.verifier.run({suite_of({check_at("/", 3)})}, k_base);
  const auto& r = report.suites[0].checks.at(0);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.failure, Errc::unhealthy);
  EXPECT_EQ(r.reason, "GET /: status 500, expected 200");
  EXPECT_EQ(report.failure(), Errc::unhealthy);
  auto result = report.to_result();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::unhealthy);
  EXPECT_EQ(result.error().message,
            "verification of http://127.0.0.1:8081 failed:\n  smoke / GET /: GET /: status 500, "
            "expected 200");
}

TEST(VerifierTest, StopsRetryingBeforeTheDeadline) {
  Harness h([](const Request&, int) { return reply(500, "", milliseconds(0)); });
  auto check = check_at("/", 10);
  check.retry.deadline = milliseconds(2500);
  auto report = h.verifier.run({suite_of({check})}, k_base);
  const auto& r = report.suites[0].checks.at(0);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(
      r.reason,
      "GET /: status 500, expected 200; gave up after 2 of 10 attempts: the 2s500ms deadline");
}

TEST(VerifierTest, ARequestNeverOutlivesTheDeadline) {
  Harness h([](const Request&, int) { return reply(200, "", seconds(30)); });
  auto check = check_at("/", 3);
  check.retry.deadline = seconds(2);
  auto start = h.clock.now();
  auto report = h.verifier.run({suite_of({check})}, k_base);
  const auto& r = report.suites[0].checks.at(0);
  EXPECT_EQ(r.failure, Errc::timeout);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.reason,
            "GET /: no response within 2000 ms (http://127.0.0.1:8081/); gave up after 1 of 3 "
            "attempts: the 2s deadline");
  EXPECT_EQ(h.clock.now() - start, seconds(2));
}

TEST(VerifierTest, SlowAnswersAreCutOffPastTwiceTheLatencyLimit) {
  Harness h([](const Request&, int) { return reply(200, "", seconds(30)); });
  auto check = check_at("/");
  check.max_latency = milliseconds(2000);
  auto report = h.verifier.run({suite_of({check})}, k_base);
  const auto& r = report.suites[0].checks.at(0);
  EXPECT_EQ(r.failure, Errc::timeout);
  EXPECT_EQ(r.reason, "GET /: took more than 4000 ms, limit 2000 ms");
}

TEST(VerifierTest, AllChecksOfAllSuitesRunAtOnce) {
  Harness h([](const Request&, int) { return reply(200, "", milliseconds(300)); });
  auto start = h.clock.now();
  auto report = h.verifier.run({suite_of({check_at("/a"), check_at("/b"), check_at("/c")}),
                                suite_of({check_at("/d")}, "more")},
                               k_base);
  EXPECT_TRUE(report.passed());
  EXPECT_EQ(h.transport.max_concurrent(), 4u);
  EXPECT_EQ(h.clock.now() - start, milliseconds(300));
  ASSERT_EQ(report.suites.size(), 2u);
  EXPECT_EQ(report.suites[0].checks.at(2).url, "http://127.0.0.1:8081/c");
  EXPECT_EQ(report.suites[1].checks.at(0).suite, "more");
}

TEST(VerifierTest, SuiteFailureIsTheMostSeriousClass) {
  Harness h([](const Request& req, int) -> FakeReply {
    if (req.url.ends_with("/down")) {
      return refused();
    }
    return reply(500);
  });
  auto report = h.verifier.run({suite_of({check_at("/"), check_at("/down")})}, k_base);
  EXPECT_FALSE(report.passed());
  EXPECT_EQ(report.suites[0].checks[0].failure, Errc::unhealthy);
  EXPECT_EQ(report.suites[0].checks[1].failure, Errc::unavailable);
  EXPECT_EQ(report.suites[0].checks[1].reason,
            "GET /down: connection refused (http://127.0.0.1:8081/down)");
  EXPECT_FALSE(report.suites[0].checks[1].status.has_value());
  EXPECT_EQ(report.suites[0].failure(), Errc::unavailable);
  EXPECT_EQ(report.failure(), Errc::unavailable);
}

TEST(VerifierTest, CircuitBreakerFailsTheRestFast) {
  Harness h([](const Request&, int) { return refused(); });
  auto check = check_at("/", 10);
  check.retry.circuit_breaker = 2;
  auto report = h.verifier.run({suite_of({check})}, k_base);
  const auto& r = report.suites[0].checks.at(0);
  EXPECT_EQ(h.transport.sent().size(), 2u);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.failure, Errc::unavailable);
  EXPECT_EQ(r.reason,
            "GET /: not sent: circuit breaker open for http://127.0.0.1:8081 after 2 consecutive "
            "failures (last: GET /: connection refused (http://127.0.0.1:8081/))");
}

TEST(VerifierTest, BreakerStateCarriesOverToTheNextRun) {
  bool up = false;
  Harness h([&up](const Request&, int) { return up ? reply(200) : refused(); });
  auto check = check_at("/", 1);
  check.retry.circuit_breaker = 1;
  auto first = h.verifier.run({suite_of({check})}, k_base);
  EXPECT_EQ(first.suites[0].checks[0].attempts, 1);
  EXPECT_EQ(h.breaker.state(k_base, h.clock.now()), CircuitBreaker::State::open);

  up = true;
  auto second = h.verifier.run({suite_of({check})}, k_base);
  EXPECT_EQ(second.suites[0].checks[0].attempts, 0) << "failed fast: nothing sent";
  EXPECT_FALSE(second.passed());
  EXPECT_EQ(h.transport.sent().size(), 1u);

  h.clock.advance(seconds(30));
  auto third = h.verifier.run({suite_of({check})}, k_base);
  EXPECT_TRUE(third.passed()) << "the half-open trial succeeded";
  EXPECT_EQ(h.breaker.state(k_base, h.clock.now()), CircuitBreaker::State::closed);
}

TEST(VerifierTest, ExpectationFailuresOfAWorkingServerDoNotTripTheBreaker) {
  Harness h([](const Request&, int) { return reply(404); });
  auto check = check_at("/", 4);
  check.retry.circuit_breaker = 2;
  auto report = h.verifier.run({suite_of({check})}, k_base);
  EXPECT_EQ(report.suites[0].checks[0].attempts, 4);
  EXPECT_EQ(h.breaker.state(k_base, h.clock.now()), CircuitBreaker::State::closed);
}

TEST(VerifierTest, SendsMethodHeadersAndBody) {
  Harness h([](const Request&, int) { return reply(201); });
  auto check = check_at("/api");
  check.method = "POST";
  check.headers = {{"Content-Type", "application/json"}};
  check.body = "{}";
  check.expect_status = {201};
  auto report = h.verifier.run({suite_of({check})}, k_base);
  EXPECT_TRUE(report.passed());
  const auto& req = h.transport.sent().at(0).request;
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "http://127.0.0.1:8081/api");
  EXPECT_EQ(req.body, "{}");
  ASSERT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(req.headers[0].first, "Content-Type");
}

TEST(VerifierUrlTest, JoinsBaseAndPath) {
  EXPECT_EQ(url_for("http://127.0.0.1:8081", "/a?b=1"), "http://127.0.0.1:8081/a?b=1");
  EXPECT_EQ(url_for("http://127.0.0.1:8081/", "/"), "http://127.0.0.1:8081/");
  EXPECT_EQ(url_for("http://127.0.0.1:8081", "https://other.test/x"), "https://other.test/x");
}

TEST(VerifierUrlTest, OriginIsSchemeHostAndPort) {
  EXPECT_EQ(origin_of("http://127.0.0.1:8081/a/b?c"), "http://127.0.0.1:8081");
  EXPECT_EQ(origin_of("https://example.test"), "https://example.test");
}

TEST(VerifierUrlTest, ListenAddressesBecomeLocalUrls) {
  EXPECT_EQ(base_url_for_listen("127.0.0.1:8081").value_or(""), "http://127.0.0.1:8081");
  EXPECT_EQ(base_url_for_listen("0.0.0.0:80").value_or(""), "http://127.0.0.1:80");
  EXPECT_EQ(base_url_for_listen("[::]:8080").value_or(""), "http://[::1]:8080");
  EXPECT_EQ(base_url_for_listen("[::1]:8080").value_or(""), "http://[::1]:8080");
  EXPECT_FALSE(base_url_for_listen("8081").ok());
}

}  // namespace
}  // namespace ztp::verify
