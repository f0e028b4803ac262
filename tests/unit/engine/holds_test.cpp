#include "engine/holds.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "support/fake_clock.hpp"
#include "support/support.hpp"

namespace ztp::engine {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr int k_day = 24 * 60;

int at(int day, int hour, int minute) { return day * k_day + hour * 60 + minute; }
constexpr int k_mon = 0;
constexpr int k_fri = 4;
constexpr int k_sat = 5;
constexpr int k_sun = 6;

WallTime utc(int64_t seconds_since_epoch) { return WallTime(seconds(seconds_since_epoch)); }

spec::DeployWindows windows(const std::string& zone, std::vector<spec::DenyWindow> deny) {
  spec::DeployWindows w;
  w.timezone = zone;
  w.deny = std::move(deny);
  return w;
}

spec::DenyWindow deny(int from, int to, const std::string& reason) {
  spec::DenyWindow d;
  d.from = from;
  d.to = to;
  d.reason = reason;
  return d;
}

// Sets an environment variable for the scope, then puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : m_name(name) {
    if (const char* old = std::getenv(name)) {
      m_old = old;
    }
    set(value);
  }
  ~ScopedEnv() { set(m_old); }

 private:
  void set(const std::optional<std::string>& value) {
    if (value) {
      ::setenv(m_name, value->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }
  const char* m_name;
  std::optional<std::string> m_old;
};

class HoldsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists("/usr/share/zoneinfo/Europe/Berlin"))
        << "the time zone database is missing; install it with: apt-get install tzdata";
    auto opened = store::SqliteStore::open(dir / "state.db", clock);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store = std::move(*opened);
    prod.name = "prod";
  }

  // Moves the fake clock to `t` (forward only).
  void move_to(WallTime t) {
    ASSERT_GE(t, clock.wall_now());
    clock.advance(std::chrono::duration_cast<Clock::Duration>(t - clock.wall_now()));
  }

  std::optional<Hold> window_now() {
    auto h = window_hold(prod.name, prod.deploy_windows, clock.wall_now());
    EXPECT_TRUE(h.ok()) << h.error().message;
    return h.ok() ? *h : std::nullopt;
  }

  testing::TempDir dir;
  testing::FakeClock clock;  // starts on Friday 2027-01-15 08:00 UTC
  std::unique_ptr<store::SqliteStore> store;
  spec::Environment prod;
};

TEST_F(HoldsTest, NothingHoldsAnEnvironmentWithoutFreezeOrWindows) {
  auto holds = holds_on(*store, prod, clock.wall_now());
  ASSERT_TRUE(holds.ok()) << holds.error().message;
  EXPECT_TRUE(holds->empty());
}

TEST_F(HoldsTest, AFreezeHoldsUntilItIsLifted) {
  ASSERT_TRUE(store->set_freeze("prod", "incident 42", "alice").ok());
  auto holds = holds_on(*store, prod, clock.wall_now());
  ASSERT_TRUE(holds.ok()) << holds.error().message;
  ASSERT_EQ(holds->size(), 1u);
  const Hold& h = holds->front();
  EXPECT_EQ(h.kind, Hold::Kind::freeze);
  EXPECT_EQ(h.actor, "alice");
  EXPECT_EQ(h.since, clock.wall_now());
  EXPECT_EQ(h.describe(), "prod is frozen by alice: incident 42 (`ztp unfreeze prod` lifts it)");
  EXPECT_EQ(h.to_json()["kind"], "freeze");

  ASSERT_TRUE(store->clear_freeze("prod").ok());
  holds = holds_on(*store, prod, clock.wall_now());
  ASSERT_TRUE(holds.ok());
  EXPECT_TRUE(holds->empty());
}

TEST_F(HoldsTest, WeekendWindowHoldsFromFridayAfternoonToMondayMorningLocalTime) {
  prod.deploy_windows =
      windows("Europe/Berlin", {deny(at(k_fri, 16, 0), at(k_mon, 8, 0), "weekend")});
  // Friday 08:00 UTC is 09:00 in Berlin (CET, UTC+1).
  EXPECT_FALSE(window_now());
  move_to(utc(1'800'000'000) + hours(7) - seconds(1));  // 15:59:59 CET
  EXPECT_FALSE(window_now());
  clock.advance(seconds(1));  // 16:00 CET
  auto hold = window_now();
  ASSERT_TRUE(hold);
  EXPECT_EQ(hold->reason, "weekend");
  const WallTime monday_8_cet = utc(1'800'000'000) + hours(3 * 24 - 1);
  EXPECT_EQ(hold->opens_at, monday_8_cet);
  EXPECT_EQ(hold->opens_local, "Mon 2027-01-18 08:00 CET");
  EXPECT_EQ(hold->describe(), "prod is in a deploy window until Mon 2027-01-18 08:00 CET: weekend");

  auto holds = holds_on(*store, prod, clock.wall_now());
  ASSERT_TRUE(holds.ok());
  ASSERT_EQ(holds->size(), 1u);
  EXPECT_EQ(holds->front().kind, Hold::Kind::window);

  move_to(monday_8_cet - seconds(1));
  EXPECT_TRUE(window_now());
  clock.advance(seconds(1));
  EXPECT_FALSE(window_now());
}

TEST_F(HoldsTest, WindowEndsOnTheLocalClockAcrossTheSpringForwardSwitch) {
  // Berlin skips 02:00-03:00 on Sunday 2027-03-28 (at 01:00 UTC).
  prod.deploy_windows =
      windows("Europe/Berlin", {deny(at(k_sat, 22, 0), at(k_sun, 3, 30), "maintenance")});
  move_to(utc(1'806'193'800));  // 00:30 UTC = 01:30 CET
  auto hold = window_now();
  ASSERT_TRUE(hold);
  // Two hours of wall clock are one hour of time: 03:30 CEST is 01:30 UTC.
  EXPECT_EQ(hold->opens_at, utc(1'806'197'400));
  EXPECT_EQ(hold->opens_local, "Sun 2027-03-28 03:30 CEST");
  move_to(utc(1'806'197'400) - seconds(1));
  EXPECT_TRUE(window_now());
  clock.advance(seconds(1));
  EXPECT_FALSE(window_now());
}

TEST_F(HoldsTest, WindowEndingInTheSkippedHourEndsWhenTheClockJumps) {
  prod.deploy_windows = windows("Europe/Berlin", {deny(at(k_sat, 22, 0), at(k_sun, 2, 30), "")});
  move_to(utc(1'806'193'800));  // 01:30 CET; 02:30 never comes that night
  auto hold = window_now();
  ASSERT_TRUE(hold);
  EXPECT_EQ(hold->opens_at, utc(1'806'195'600));  // 01:00 UTC, the clock shows 03:00 CEST
  EXPECT_EQ(hold->opens_local, "Sun 2027-03-28 03:00 CEST");
}

TEST_F(HoldsTest, WindowEndsOnTheFirstPassThroughTheRepeatedHourInAutumn) {
  // Berlin shows 02:00-03:00 twice on Sunday 2027-10-31: CEST until 01:00 UTC, then CET.
  prod.deploy_windows =
      windows("Europe/Berlin", {deny(at(k_sat, 22, 0), at(k_sun, 2, 30), "nightly")});
  move_to(utc(1'824'942'600) - minutes(10));  // 02:20 CEST
  auto hold = window_now();
  ASSERT_TRUE(hold);
  EXPECT_EQ(hold->opens_at, utc(1'824'942'600));  // 02:30 CEST = 00:30 UTC
  EXPECT_EQ(hold->opens_local, "Sun 2027-10-31 02:30 CEST");
  move_to(utc(1'824'944'400) + minutes(10));  // 02:10 CET, on the second pass
  EXPECT_FALSE(window_now()) << "the window ended on the first pass and does not come back";
}

TEST_F(HoldsTest, WindowStartedOnTheFirstPassHoldsThroughTheRepeatedHour) {
  prod.deploy_windows =
      windows("Europe/Berlin", {deny(at(k_sun, 2, 15), at(k_sun, 5, 0), "backup")});
  move_to(utc(1'824'942'600) - minutes(20));  // 02:10 CEST: not yet
  EXPECT_FALSE(window_now());
  move_to(utc(1'824'944'400) + minutes(5));  // 02:05 CET, after 02:15 CEST has passed
  auto hold = window_now();
  ASSERT_TRUE(hold) << "the window began at 02:15 CEST and holds on";
  EXPECT_EQ(hold->opens_local, "Sun 2027-10-31 05:00 CET");
  EXPECT_EQ(hold->opens_at, utc(1'824'944'400) + hours(3));
}

TEST_F(HoldsTest, AdjoiningWindowsWrapTheWeekAndOpenWhenTheLastEnds) {
  prod.deploy_windows = windows("UTC", {deny(at(k_sun, 0, 0), at(k_mon, 8, 0), "sunday"),
                                        deny(at(k_fri, 16, 0), at(k_sun, 0, 0), "friday")});
  move_to(utc(1'800'000'000) + hours(9));  // Friday 17:00 UTC
  auto hold = window_now();
  ASSERT_TRUE(hold);
  EXPECT_EQ(hold->reason, "friday");
  EXPECT_EQ(hold->opens_at, utc(1'800'000'000) + hours(3 * 24));  // Monday 08:00 UTC
  EXPECT_EQ(hold->opens_local, "Mon 2027-01-18 08:00 UTC");
}

TEST_F(HoldsTest, WindowsCoveringTheWholeWeekNeverOpen) {
  prod.deploy_windows = windows("UTC", {deny(at(k_mon, 0, 0), at(3, 0, 0), "first half"),
                                        deny(at(3, 0, 0), at(k_mon, 0, 0), "second half")});
  auto hold = window_now();
  ASSERT_TRUE(hold);
  EXPECT_FALSE(hold->opens_at);
  EXPECT_NE(hold->describe().find("no open minute"), std::string::npos) << hold->describe();
}

TEST_F(HoldsTest, UnknownZoneAndMissingDatabaseAreClearErrors) {
  prod.deploy_windows = windows("Europe/Berln", {deny(at(k_fri, 16, 0), at(k_mon, 8, 0), "")});
  auto unknown = window_hold("prod", prod.deploy_windows, clock.wall_now());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  EXPECT_NE(unknown.error().message.find("did you mean `Europe/Berlin`"), std::string::npos)
      << unknown.error().message;

  testing::TempDir empty;
  ScopedEnv tzdir("TZDIR", (empty.path() / "zoneinfo").string());
  prod.deploy_windows.timezone = "Europe/Berlin";
  auto missing = window_hold("prod", prod.deploy_windows, clock.wall_now());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("tzdata"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("deploy_windows of prod"), std::string::npos);
}

TEST_F(HoldsTest, EvaluationLeavesTheProcessTimeZoneAsItWas) {
  prod.deploy_windows = windows("Asia/Tokyo", {deny(at(k_fri, 16, 0), at(k_mon, 8, 0), "")});
  {
    ScopedEnv tz("TZ", std::nullopt);
    ASSERT_TRUE(window_hold("prod", prod.deploy_windows, clock.wall_now()).ok());
    EXPECT_EQ(std::getenv("TZ"), nullptr);
  }
  ScopedEnv tz("TZ", "America/New_York");
  ASSERT_TRUE(window_hold("prod", prod.deploy_windows, clock.wall_now()).ok());
  ASSERT_NE(std::getenv("TZ"), nullptr);
  EXPECT_STREQ(std::getenv("TZ"), "America/New_York");
}

// ztp serve evaluates gates on several threads (the controller, the API) while others read the
// environment (libcurl does). Zones once went through TZ and tzset, process-wide: now two zones
// are evaluated at once, each right, and TZ is never touched.
TEST_F(HoldsTest, TwoThreadsEvaluateWindowsInDifferentZonesAtOnce) {
  ScopedEnv unset("TZ", std::nullopt);
  const std::vector<spec::DenyWindow> weekend{deny(at(k_fri, 16, 0), at(k_mon, 8, 0), "weekend")};
  const auto tokyo = windows("Asia/Tokyo", weekend);
  const auto new_york = windows("America/New_York", weekend);
  // Friday 2027-01-15 08:00 UTC: 17:00 in Tokyo (held until Monday 08:00 JST), 03:00 in New York.
  const WallTime now = clock.wall_now();
  const WallTime tokyo_monday_8 = utc(1'800'000'000) + hours(2 * 24 + 15);
  constexpr int k_rounds = 300;
  std::atomic<bool> done{false};
  std::atomic<int> tz_seen{0};
  std::atomic<int> wrong{0};
  std::thread watcher([&] {
    while (!done) {
      if (std::getenv("TZ") != nullptr) {
        ++tz_seen;
      }
    }
  });
  auto evaluate = [&](const spec::DeployWindows& w, bool held) {
    for (int i = 0; i < k_rounds; ++i) {
      auto h = window_hold("prod", w, now);
      bool right = h.ok() && h->has_value() == held &&
                   (!held || ((*h)->opens_at == tokyo_monday_8 &&
                              (*h)->opens_local == "Mon 2027-01-18 08:00 JST"));
      wrong += right ? 0 : 1;
    }
  };
  std::thread in_tokyo(evaluate, std::cref(tokyo), true);
  std::thread in_new_york(evaluate, std::cref(new_york), false);
  in_tokyo.join();
  in_new_york.join();
  done = true;
  watcher.join();
  EXPECT_EQ(wrong, 0) << "of " << 2 * k_rounds << " evaluations";
  EXPECT_EQ(tz_seen, 0) << "TZ was set while the zones were evaluated";
}

}  // namespace
}  // namespace ztp::engine
