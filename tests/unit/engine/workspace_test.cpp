#include "engine/workspace.hpp"

#include <gtest/gtest.h>

#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::engine {
namespace {

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::atomic_write(spec_file(), R"(app: demo
environments:
  - {name: dev, listen: "127.0.0.1:8081"}
)",
                                 0644)
                    .ok());
  }
  std::filesystem::path spec_file() const { return dir / "ztp.yaml"; }

  testing::TempDir dir;
};

TEST_F(WorkspaceTest, ZtpHomeAndTheStoreAreTheOwnersOnlyWhateverTheUmask) {
  testing::ScopedUmask open_umask(0);
  auto parent_mode = testing::file_mode(dir.path());
  auto ws = open_workspace(spec_file(), dir / ".ztp");
  ASSERT_TRUE(ws.ok()) << ws.error().message;
  EXPECT_EQ(testing::file_mode(dir / ".ztp"), 0700u);
  EXPECT_EQ(testing::file_mode(dir / ".ztp" / "state.db"), 0600u);
  // Nothing outside ZTP_HOME changed.
  EXPECT_EQ(testing::file_mode(dir.path()), parent_mode);
  EXPECT_EQ(testing::file_mode(spec_file()), 0644u);
}

TEST_F(WorkspaceTest, AnExistingZtpHomeIsTightened) {
  auto home = dir / "home";
  ASSERT_TRUE(fs::ensure_dir(home).ok());
  ASSERT_EQ(::chmod(home.c_str(), 0755), 0);
  auto ws = open_workspace(spec_file(), home);
  ASSERT_TRUE(ws.ok()) << ws.error().message;
  EXPECT_EQ(testing::file_mode(home), 0700u);
}

}  // namespace
}  // namespace ztp::engine
