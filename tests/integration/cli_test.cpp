// The command line itself, through the ztp binary, on the sample application's spec with nothing
// deployed: what it says about a command it does not know.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/sample_app.hpp"
#include "support/support.hpp"

namespace ztp {
namespace {

using nlohmann::json;
using testing::run_ztp;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_text(dir / "ztp.yaml", testing::sample_app_yaml({.port = testing::free_port()}));
    env = {"ZTP_HOME=" + home().string()};
  }

  std::filesystem::path home() const { return dir / "home"; }

  // Runs ztp with `args` in the test's directory, on its spec.
  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", (dir / "ztp.yaml").string()});
    return run_ztp(args, env, dir.path());
  }

  testing::TempDir dir;
  std::vector<std::string> env;
};

TEST_F(CliTest, AnUnknownCommandIsNamedWithTheNearestOne) {
  auto typo = ztp({"stauts"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_EQ(typo.err,
            "ztp: unknown command `stauts`: did you mean `status`? (`ztp --help` lists "
            "the commands)\n");

  auto far = ztp({"frobnicate", "dev"});
  EXPECT_EQ(far.exit_code, 1);
  EXPECT_NE(far.err.find("unknown command `frobnicate`: the commands are: "), std::string::npos)
      << far.err;
  EXPECT_NE(far.err.find("status"), std::string::npos) << far.err;
  EXPECT_EQ(far.err.find("A subcommand is required"), std::string::npos) << far.err;

  auto nested = ztp({"token", "lsit"});
  EXPECT_EQ(nested.exit_code, 1);
  EXPECT_NE(nested.err.find("unknown command `token lsit`: did you mean `list`?"),
            std::string::npos)
      << nested.err;

  auto as_json = ztp({"-o", "json", "stauts"});
  EXPECT_EQ(as_json.exit_code, 1);
  auto j = json::parse(as_json.out);
  EXPECT_EQ(j["error"]["code"], "invalid");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("did you mean `status`?"),
            std::string::npos);

  auto none = ztp({});
  EXPECT_EQ(none.exit_code, 1);
}

}  // namespace
}  // namespace ztp
