#include "verify/expectations.hpp"

#include <gtest/gtest.h>

namespace ztp::verify {
namespace {

using std::chrono::milliseconds;

const auto k_now = std::chrono::system_clock::from_time_t(1'800'000'000);

spec::Check get(std::string path = "/") {
  spec::Check check;
  check.method = "GET";
  check.path = std::move(path);
  check.name = "GET " + check.path;
  return check;
}

Response ok(std::string body = "", std::vector<std::pair<std::string, std::string>> headers = {}) {
  Response r;
  r.status = 200;
  r.body_bytes = body.size();
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.latency = milliseconds(12);
  return r;
}

Verdict judge(const spec::Check& check, const Response& r,
              std::string_view url = "http://127.0.0.1:8081/") {
  return evaluate(check, r, url, k_now);
}

TEST(ExpectationsTest, PassesWhenEverythingHolds) {
  auto check = get();
  check.body_contains = {"Demo"};
  check.body_regex = "<title>.*</title>";
  check.expect_headers = {{"X-Frame-Options", std::string("SAMEORIGIN"), std::nullopt, true}};
  check.max_latency = milliseconds(100);
  auto v = judge(check, ok("<title>Demo</title>", {{"x-frame-options", "SAMEORIGIN"}}));
  EXPECT_TRUE(v.passed) << v.reason;
  EXPECT_EQ(v.reason, "");
}

TEST(ExpectationsTest, StatusMismatchNamesBothCodes) {
  Response r = ok();
  r.status = 500;
  auto v = judge(get(), r);
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.failure, Errc::unhealthy);
  EXPECT_EQ(v.reason, "GET /: status 500, expected 200");
}

TEST(ExpectationsTest, StatusSetListsEveryAcceptedCode) {
  auto check = get();
  check.expect_status = {200, 301, 302};
  Response r = ok();
  r.status = 404;
  EXPECT_EQ(judge(check, r).reason, "GET /: status 404, expected 200, 301 or 302");
  r.status = 301;
  EXPECT_TRUE(judge(check, r).passed);
}

TEST(ExpectationsTest, EmptyStatusSetAcceptsAnyStatus) {
  auto check = get();
  check.expect_status.clear();
  Response r = ok();
  r.status = 503;
  EXPECT_TRUE(judge(check, r).passed);
}

TEST(ExpectationsTest, BodyContainsReportsMissingTextAndSize) {
  auto check = get("/about.html");
  check.body_contains = {"About Our Application"};
  auto v = judge(check, ok(std::string(1834, 'x')));
  EXPECT_EQ(v.failure, Errc::unhealthy);
  EXPECT_EQ(v.reason,
            "GET /about.html: body does not contain \"About Our Application\" (got 1834 bytes)");
}

TEST(ExpectationsTest, BodyContainsNeedsEveryString) {
  auto check = get();
  check.body_contains = {"alpha", "beta"};
  EXPECT_EQ(judge(check, ok("alpha only")).reason,
            "GET /: body does not contain \"beta\" (got 10 bytes)");
  EXPECT_TRUE(judge(check, ok("alpha and beta")).passed);
}

TEST(ExpectationsTest, BodyRegexMismatch) {
  auto check = get();
  check.body_regex = "<title>.+</title>";
  EXPECT_EQ(judge(check, ok("<title></title>")).reason,
            "GET /: body does not match /<title>.+</title>/ (got 15 bytes)");
}

TEST(ExpectationsTest, MissingHeader) {
  auto check = get();
  check.expect_headers = {{"Content-Security-Policy", std::nullopt, std::nullopt, true}};
  auto v = judge(check, ok("", {{"X-Frame-Options", "DENY"}}));
  EXPECT_EQ(v.failure, Errc::unhealthy);
  EXPECT_EQ(v.reason, "GET /: header Content-Security-Policy missing");
}

TEST(ExpectationsTest, HeaderNamesAreCaseInsensitive) {
  auto check = get();
  check.expect_headers = {{"content-security-policy", std::nullopt, std::nullopt, true}};
  EXPECT_TRUE(judge(check, ok("", {{"Content-Security-Policy", "default-src 'self'"}})).passed);
}

TEST(ExpectationsTest, HeaderEqualsShowsBothValues) {
  auto check = get();
  check.expect_headers = {{"X-Frame-Options", std::string("SAMEORIGIN"), std::nullopt, true}};
  EXPECT_EQ(judge(check, ok("", {{"X-Frame-Options", "DENY"}})).reason,
            "GET /: header X-Frame-Options is \"DENY\", expected \"SAMEORIGIN\"");
}

TEST(ExpectationsTest, HeaderMatchesShowsValueAndPattern) {
  auto check = get();
  check.expect_headers = {{"Cache-Control", std::nullopt, std::string("max-age=\\d+"), true}};
  EXPECT_EQ(judge(check, ok("", {{"Cache-Control", "no-cache"}})).reason,
            "GET /: header Cache-Control is \"no-cache\", does not match /max-age=\\d+/");
  EXPECT_TRUE(judge(check, ok("", {{"Cache-Control", "public, max-age=60"}})).passed);
}

TEST(ExpectationsTest, HeaderExpectedAbsent) {
  auto check = get();
  check.expect_headers = {{"Server", std::nullopt, std::nullopt, false}};
  EXPECT_EQ(judge(check, ok("", {{"Server", "nginx/1.22"}})).reason,
            "GET /: header Server present (\"nginx/1.22\"), expected absent");
  EXPECT_TRUE(judge(check, ok()).passed);
}

TEST(ExpectationsTest, SlowResponseIsATimeout) {
  auto check = get();
  check.max_latency = milliseconds(2000);
  Response r = ok();
  r.latency = milliseconds(2140);
  auto v = judge(check, r);
  EXPECT_EQ(v.failure, Errc::timeout);
  EXPECT_EQ(v.reason, "GET /: took 2140 ms, limit 2000 ms");
}

TEST(ExpectationsTest, ConnectionRefusedIsUnavailableAndNamesTheUrl) {
  Response r;
  r.error = TransportError::refused;
  r.error_text = "connection refused";
  auto v = judge(get(), r);
  EXPECT_EQ(v.failure, Errc::unavailable);
  EXPECT_EQ(v.reason, "GET /: connection refused (http://127.0.0.1:8081/)");
}

TEST(ExpectationsTest, NoResponseInTimeIsATimeout) {
  Response r;
  r.error = TransportError::timeout;
  r.error_text = "no response within 5000 ms";
  r.latency = milliseconds(5000);
  auto v = judge(get(), r);
  EXPECT_EQ(v.failure, Errc::timeout);
  EXPECT_EQ(v.reason, "GET /: no response within 5000 ms (http://127.0.0.1:8081/)");
}

TEST(ExpectationsTest, AbortedSlowResponseReportsTheLatencyLimit) {
  auto check = get();
  check.max_latency = milliseconds(100);
  Response r;
  r.error = TransportError::timeout;
  r.latency = milliseconds(1100);
  auto v = judge(check, r);
  EXPECT_EQ(v.failure, Errc::timeout);
  EXPECT_EQ(v.reason, "GET /: took more than 1100 ms, limit 100 ms");
}

TEST(ExpectationsTest, FailedStatusSkipsContentButNotLatency) {
  auto check = get();
  check.body_contains = {"Demo"};
  check.max_latency = milliseconds(100);
  Response r = ok("Internal Server Error");
  r.status = 500;
  r.latency = milliseconds(300);
  auto v = judge(check, r);
  EXPECT_EQ(v.failure, Errc::timeout);
  EXPECT_EQ(v.reason, "GET /: status 500, expected 200; took 300 ms, limit 100 ms");
}

TEST(ExpectationsTest, SeveralFailuresAreAllListed) {
  auto check = get();
  check.body_contains = {"Demo"};
  check.expect_headers = {{"X-Frame-Options", std::nullopt, std::nullopt, true}};
  EXPECT_EQ(judge(check, ok("nope")).reason,
            "GET /: body does not contain \"Demo\" (got 4 bytes); header X-Frame-Options missing");
}

TEST(ExpectationsTest, CertificateDaysLeftBelowMinimum) {
  auto check = get();
  check.min_cert_days = 14;
  Response r = ok();
  r.cert_expiry = k_now + std::chrono::hours(24 * 5 + 3);
  auto v = judge(check, r, "https://example.test/");
  EXPECT_EQ(v.failure, Errc::unhealthy);
  EXPECT_EQ(v.reason, "GET /: certificate expires in 5 days (2027-01-20), minimum 14");
  r.cert_expiry = k_now + std::chrono::hours(24 * 30);
  EXPECT_TRUE(judge(check, r, "https://example.test/").passed);
}

TEST(ExpectationsTest, CertificateExpiredOrUnknown) {
  auto check = get();
  check.min_cert_days = 14;
  Response r = ok();
  r.cert_expiry = k_now - std::chrono::hours(24 * 2);
  EXPECT_EQ(judge(check, r, "https://example.test/").reason,
            "GET /: certificate expired 2 days ago (2027-01-13), minimum 14");
  r.cert_expiry.reset();
  EXPECT_EQ(judge(check, r, "https://example.test/").reason,
            "GET /: certificate expiry unknown (the server sent no certificate)");
}

TEST(ExpectationsTest, CertificateIgnoredOverPlainHttp) {
  auto check = get();
  check.min_cert_days = 14;
  EXPECT_TRUE(judge(check, ok(), "http://127.0.0.1:8081/").passed);
}

TEST(ExpectationsTest, ParsesCertificateDatesOfBothFormats) {
  auto openssl = parse_cert_date("Jan  1 00:00:00 2030 GMT");
  ASSERT_TRUE(openssl.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*openssl), 1893456000);
  auto iso = parse_cert_date("2030-01-01 00:00:00 GMT");
  ASSERT_TRUE(iso.has_value());
  EXPECT_EQ(*iso, *openssl);
  EXPECT_FALSE(parse_cert_date("soon").has_value());
}

TEST(ExpectationsTest, MostSeriousOrdersUnavailableTimeoutUnhealthy) {
  EXPECT_EQ(most_serious(Errc::unhealthy, Errc::timeout), Errc::timeout);
  EXPECT_EQ(most_serious(Errc::timeout, Errc::unavailable), Errc::unavailable);
  EXPECT_EQ(most_serious(Errc::unavailable, Errc::unhealthy), Errc::unavailable);
  EXPECT_EQ(most_serious(Errc::unhealthy, Errc::unhealthy), Errc::unhealthy);
}

TEST(ExpectationsTest, FindHeaderJoinsRepeatedHeaders) {
  std::vector<std::pair<std::string, std::string>> headers{{"Vary", "Accept"}, {"vary", "Origin"}};
  EXPECT_EQ(find_header(headers, "VARY").value_or(""), "Accept, Origin");
  EXPECT_FALSE(find_header(headers, "Server").has_value());
}

}  // namespace
}  // namespace ztp::verify
