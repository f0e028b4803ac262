#include "target/local/supervisor.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/fake_clock.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::target::local {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ztp::testing::FakeClock;
using ztp::testing::TempDir;

SuperviseOptions valid_options(const std::filesystem::path& dir) {
  SuperviseOptions o;
  o.state_dir = dir / "replica";
  o.workdir = dir;
  o.env = "dev";
  o.release = "r1";
  o.port = 8080;
  o.command = {"/bin/true"};
  return o;
}

TEST(SuperviseValidateTest, AcceptsSaneOptions) {
  TempDir dir;
  EXPECT_TRUE(validate(valid_options(dir.path())));
}

TEST(SuperviseValidateTest, RejectsAMissingWorkdirNamingIt) {
  TempDir dir;
  auto o = valid_options(dir.path());
  o.workdir = dir / "nope";
  auto r = validate(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_NE(r.error().message.find((dir / "nope").string()), std::string::npos);
}

TEST(SuperviseValidateTest, RejectsAnEmptyCommandAndABadPort) {
  TempDir dir;
  auto o = valid_options(dir.path());
  o.command.clear();
  EXPECT_FALSE(validate(o));
  o = valid_options(dir.path());
  o.port = 70000;
  EXPECT_FALSE(validate(o));
}

}  // namespace
}  // namespace ztp::target::local
