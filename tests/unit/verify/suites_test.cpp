#include "verify/suites.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace ztp::verify {
namespace {

std::vector<std::string> header_names(const spec::Check& check) {
  std::vector<std::string> names;
  for (const auto& e : check.expect_headers) {
    EXPECT_TRUE(e.present);
    EXPECT_FALSE(e.equals.has_value());
    EXPECT_FALSE(e.matches.has_value());
    names.push_back(e.name);
  }
  return names;
}

spec::Spec sample_spec() {
  spec::Spec s;
  s.file = "ztp.yaml";
  spec::Check home;
  home.name = "home";
  home.path = "/";
  s.checks.push_back(spec::CheckSuite{"smoke", {home}, {}});
  spec::Environment dev;
  dev.name = "dev";
  dev.listen = "127.0.0.1:8081";
  dev.verify = {"smoke", "security_headers", "error_pages"};
  s.environments.push_back(dev);
  return s;
}

TEST(SuitesTest, BuiltinNamesMatchTheSpecValidator) {
  for (const auto& name : spec::builtin_suite_names()) {
    EXPECT_TRUE(builtin_suite(name, "http://127.0.0.1:1").has_value()) << name;
  }
  EXPECT_FALSE(builtin_suite("smoke", "http://127.0.0.1:1").has_value());
}

TEST(SuitesTest, SecurityHeadersOverHttp) {
  auto suite = builtin_suite("security_headers", "http://127.0.0.1:8081");
  ASSERT_TRUE(suite.has_value());
  EXPECT_EQ(suite->name, "security_headers");
  ASSERT_EQ(suite->checks.size(), 1u);
  const auto& check = suite->checks[0];
  EXPECT_EQ(check.method, "GET");
  EXPECT_EQ(check.path, "/");
  EXPECT_TRUE(check.expect_status.empty());
  EXPECT_EQ(header_names(check),
            (std::vector<std::string>{"X-Frame-Options", "X-Content-Type-Options",
                                      "Referrer-Policy", "Content-Security-Policy"}));
}

TEST(SuitesTest, SecurityHeadersOverHttpsAddStrictTransportSecurity) {
  auto suite = builtin_suite("security_headers", "https://shop.example.com");
  ASSERT_TRUE(suite.has_value());
  auto names = header_names(suite->checks.at(0));
  ASSERT_EQ(names.size(), 5u);
  EXPECT_EQ(names.back(), "Strict-Transport-Security");
}

TEST(SuitesTest, ErrorPagesProbesARandomUnknownPathFor404) {
  auto a = builtin_suite("error_pages", "http://127.0.0.1:8081", [] { return 0.25; });
  auto b = builtin_suite("error_pages", "http://127.0.0.1:8081", [] { return 0.75; });
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(a->checks.size(), 1u);
  const auto& check = a->checks[0];
  EXPECT_TRUE(std::regex_match(check.path, std::regex("/ztp-probe-[0-9a-f]{16}"))) << check.path;
  EXPECT_EQ(check.expect_status, std::vector<int>{404});
  EXPECT_NE(check.path, b->checks.at(0).path);
}

TEST(SuitesTest, ResolvePrefersTheSpecThenBuiltins) {
  auto spec = sample_spec();
  auto smoke = resolve_suite(spec, "smoke", "http://127.0.0.1:8081");
  ASSERT_TRUE(smoke.ok());
  EXPECT_EQ(smoke->checks.at(0).name, "home");
  auto builtin = resolve_suite(spec, "error_pages", "http://127.0.0.1:8081");
  ASSERT_TRUE(builtin.ok());
  EXPECT_EQ(builtin->name, "error_pages");
}

TEST(SuitesTest, UnknownSuiteNamesTheKnownOnes) {
  auto spec = sample_spec();
  auto missing = resolve_suite(spec, "smok", "http://127.0.0.1:8081");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message,
            "ztp.yaml: no check suite `smok`; known: smoke, security_headers (built in), "
            "error_pages (built in)");
}

TEST(SuitesTest, EnvironmentSuitesFollowTheVerifyList) {
  auto spec = sample_spec();
  auto suites = environment_suites(spec, spec.environments[0], "http://127.0.0.1:8081");
  ASSERT_TRUE(suites.ok());
  ASSERT_EQ(suites->size(), 3u);
  EXPECT_EQ((*suites)[0].name, "smoke");
  EXPECT_EQ((*suites)[1].name, "security_headers");
  EXPECT_EQ((*suites)[2].name, "error_pages");

  spec.environments[0].verify.push_back("nope");
  auto bad = environment_suites(spec, spec.environments[0], "http://127.0.0.1:8081");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("environment dev: ztp.yaml: no check suite `nope`", 0), 0u)
      << bad.error().message;
}

}  // namespace
}  // namespace ztp::verify
