#include "cli/command.hpp"

#include <gtest/gtest.h>

#include "cli/workspace.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::cli {
namespace {

Context with_output(const std::string& output) {
  Context ctx;
  ctx.globals.output = output;
  return ctx;
}

TEST(PrintResultTest, PrintsTheTextAsItIs) {
  ::testing::internal::CaptureStdout();
  int code = print_result(with_output("text"), Output{{{"a", 1}}, "line one\nline two\n"});
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "line one\nline two\n");
  EXPECT_EQ(code, 0);
}

TEST(PrintResultTest, PrintsTheJsonIndentedWithOutputJson) {
  ::testing::internal::CaptureStdout();
  int code = print_result(with_output("json"), Output{{{"a", 1}}, "text"});
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "{\n  \"a\": 1\n}\n");
  EXPECT_EQ(code, 0);
}

TEST(PrintResultTest, ReturnsTheExitCodeOfAResultThatIsAFailure) {
  ::testing::internal::CaptureStdout();
  int code = print_result(with_output("text"), Output{{}, "failed\n", 11});
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "failed\n");
  EXPECT_EQ(code, 11);
}

TEST(PrintResultTest, ReportsAnErrorWithItsExitCode) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int code = print_result(with_output("text"), make_error(Errc::timeout, "too slow"));
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "ztp: too slow\n");
  EXPECT_EQ(code, exit_code(Errc::timeout));
}

TEST(PrintResultTest, ReportsAnErrorAsJsonWithOutputJson) {
  ::testing::internal::CaptureStdout();
  int code = print_result(with_output("json"), make_error(Errc::not_found, "no such run"));
  auto printed = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  EXPECT_EQ(printed["error"]["code"], "not_found");
  EXPECT_EQ(printed["error"]["message"], "no such run");
  EXPECT_EQ(code, exit_code(Errc::not_found));
}

class WithWorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::atomic_write(dir / "ztp.yaml", R"(app: demo
environments:
  - {name: dev, listen: "127.0.0.1:8081"}
)",
                                 0644)
                    .ok());
    ctx.globals.spec_file = (dir / "ztp.yaml").string();
    ctx.globals.home = (dir / ".ztp").string();
  }

  testing::TempDir dir;
  Context ctx;
};

Result<Output> app_name(Workspace& ws, const std::string& suffix) {
  return Output{{}, ws.spec.app + suffix};
}

TEST_F(WithWorkspaceTest, RunsTheBodyOnTheWorkspaceAndPrintsItsResult) {
  ::testing::internal::CaptureStdout();
  int code = with_workspace(ctx, "dev", app_name, std::string("!\n"));
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "demo!\n");
  EXPECT_EQ(code, 0);
}

TEST_F(WithWorkspaceTest, AnUnknownEnvironmentIsReportedWithoutRunningTheBody) {
  bool ran = false;
  auto body = [&ran](Workspace&) -> Result<Output> {
    ran = true;
    return Output{};
  };
  ::testing::internal::CaptureStderr();
  int code = with_workspace(ctx, "prod", body);
  auto err = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(ran);
  EXPECT_NE(err.find("no environment prod"), std::string::npos) << err;
  EXPECT_NE(err.find("environments: dev"), std::string::npos) << err;
  EXPECT_EQ(code, exit_code(Errc::invalid));
}

TEST_F(WithWorkspaceTest, AMissingSpecIsReported) {
  ctx.globals.spec_file = (dir / "missing.yaml").string();
  ::testing::internal::CaptureStderr();
  int code = with_workspace(ctx, "", app_name, std::string());
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("missing.yaml"), std::string::npos);
  EXPECT_NE(code, 0);
}

}  // namespace
}  // namespace ztp::cli
