#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/json.hpp"
#include "spec_test_util.hpp"

// `deploy_windows` of an environment: the weekly deny spans, their time zone, and the errors.
namespace ztp::spec {
namespace {

using ::testing::ElementsAre;
using testing::located;
using testing::parse_text;

// A spec whose prod environment has `windows` (indented under `deploy_windows:`).
ParseOutcome with_windows(const std::string& windows) {
  return parse_text(
      "app: demo\n"
      "environments:\n"
      "  - name: prod\n"
      "    listen: 127.0.0.1:8081\n"
      "    deploy_windows:\n" +
      windows);
}

std::string hint_of(const ParseOutcome& outcome, size_t i = 0) {
  return i < outcome.diagnostics.size() ? outcome.diagnostics[i].hint : "<none>";
}

TEST(DeployWindowsTest, ParsesWeeklySpansInANamedZone) {
  auto out = with_windows(
      "      timezone: Europe/Berlin\n"
      "      deny:\n"
      "        - {from: Fri 16:00, to: Mon 08:00, reason: weekend}\n"
      "        - from: wednesday 9:30\n"
      "          to: WED 10:00\n");
  ASSERT_TRUE(out.spec) << (out.diagnostics.empty() ? "" : to_string(out.diagnostics[0]));
  const auto& w = out.spec->environments[0].deploy_windows;
  EXPECT_TRUE(w.enabled());
  EXPECT_EQ(w.timezone, "Europe/Berlin");
  ASSERT_EQ(w.deny.size(), 2u);
  EXPECT_EQ(w.deny[0].from, 4 * 1440 + 16 * 60);
  EXPECT_EQ(w.deny[0].to, 8 * 60);
  EXPECT_EQ(w.deny[0].reason, "weekend");
  EXPECT_EQ(w.deny[0].pos.line, 8);
  EXPECT_EQ(w.deny[1].from, 2 * 1440 + 9 * 60 + 30);
  EXPECT_EQ(w.deny[1].to, 2 * 1440 + 10 * 60);
  EXPECT_EQ(w.deny[1].reason, "no deploys from Wed 09:30 to Wed 10:00");

  auto j = to_json(*out.spec)["environments"][0]["deploy_windows"];
  EXPECT_EQ(j["timezone"], "Europe/Berlin");
  EXPECT_EQ(j["deny"][0]["from"], "Fri 16:00");
  EXPECT_EQ(j["deny"][0]["to"], "Mon 08:00");
  EXPECT_EQ(j["deny"][0]["reason"], "weekend");
}

TEST(DeployWindowsTest, AbsentMeansNoWindows) {
  auto out = parse_text("app: demo\nenvironments:\n  - {name: prod, listen: 127.0.0.1:8081}\n");
  ASSERT_TRUE(out.spec);
  EXPECT_FALSE(out.spec->environments[0].deploy_windows.enabled());
  EXPECT_TRUE(to_json(*out.spec)["environments"][0]["deploy_windows"].is_null());
}

TEST(DeployWindowsTest, DayNamesAreCheckedWithASuggestion) {
  auto out = with_windows(
      "      timezone: UTC\n"
      "      deny: [{from: Fry 16:00, to: Mon 08:00}]\n");
  EXPECT_FALSE(out.spec);
  EXPECT_THAT(located(out), ElementsAre("7:21: unknown day `Fry` in from `Fry 16:00`"));
  EXPECT_EQ(hint_of(out), "did you mean `Fri`?");
}

TEST(DeployWindowsTest, TimesMustBeHoursAndMinutes) {
  auto out = with_windows(
      "      timezone: UTC\n"
      "      deny:\n"
      "        - {from: Fri 24:00, to: Mon 8}\n"
      "        - {from: Fri, to: Mon 08:61}\n");
  EXPECT_THAT(located(out), ElementsAre("8:18: bad time `24:00` in from `Fri 24:00`",
                                        "8:33: bad time `8` in to `Mon 8`",
                                        "9:18: from `Fri` needs a day and a time",
                                        "9:27: bad time `08:61` in to `Mon 08:61`"));
  EXPECT_EQ(hint_of(out), "times are HH:MM from 00:00 to 23:59; the end of Sunday is `Mon 00:00`");
}

TEST(DeployWindowsTest, AnEmptySpanIsRefused) {
  auto out = with_windows(
      "      timezone: UTC\n"
      "      deny: [{from: Sat 10:00, to: sat 10:00}]\n");
  EXPECT_THAT(located(out), ElementsAre("7:36: the deny window from Sat 10:00 to Sat 10:00 is "
                                        "empty"));
}

TEST(DeployWindowsTest, TimeZoneMustBeInTheDatabase) {
  ASSERT_TRUE(std::filesystem::exists("/usr/share/zoneinfo/Europe/Berlin"))
      << "the time zone database is missing; install it with: apt-get install tzdata";
  auto out = with_windows(
      "      timezone: Europe/Berln\n"
      "      deny: [{from: Fri 16:00, to: Mon 08:00}]\n");
  ASSERT_THAT(located(out), ElementsAre("6:17: unknown time zone `Europe/Berln`: "
                                        "/usr/share/zoneinfo holds no such zone; did you mean "
                                        "`Europe/Berlin`?"));
  auto odd = with_windows(
      "      timezone: ../etc/passwd\n"
      "      deny: [{from: Fri 16:00, to: Mon 08:00}]\n");
  EXPECT_THAT(located(odd),
              ElementsAre("6:17: `../etc/passwd` is not a time zone name; write an IANA name "
                          "like Europe/Berlin, America/New_York or UTC"));
  auto not_a_zone = with_windows(
      "      timezone: Europe\n"
      "      deny: [{from: Fri 16:00, to: Mon 08:00}]\n");
  EXPECT_THAT(located(not_a_zone), ElementsAre(::testing::HasSubstr("unknown time zone `Europe`")));
}

TEST(DeployWindowsTest, TimeZoneAndDenyAreRequiredAndDenyNotEmpty) {
  auto out = with_windows("      deny: []\n");
  EXPECT_THAT(located(out), ElementsAre("6:7: deploy_windows is missing required key `timezone`",
                                        "6:13: deny must list at least one window"));
  auto unknown = with_windows(
      "      timezone: UTC\n"
      "      allow: [{from: Mon 08:00, to: Fri 16:00}]\n");
  EXPECT_THAT(located(unknown), ElementsAre("6:7: deploy_windows is missing required key `deny`",
                                            "7:7: unknown key `allow` in deploy_windows"));
}

}  // namespace
}  // namespace ztp::spec
