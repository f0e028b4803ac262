#include <gtest/gtest.h>

#include <filesystem>

#include "spec_test_util.hpp"

// tests/fuzz/spec is a fuzz corpus: whatever a file holds, the parser must answer with a spec
// or with diagnostics, never crash or throw.
namespace ztp::spec {
namespace {

TEST(SpecCorpusTest, EveryFileParsesWithoutThrowing) {
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::corpus_dir())) {
    if (!entry.is_regular_file()) {
      continue;
    }
    ++files;
    std::string name = entry.path().filename().string();
    auto text = fs::read_file(entry.path());
    ASSERT_TRUE(text.ok()) << name;
    ParseOutcome out;
    EXPECT_NO_THROW(out = parse_spec(*text, name, testing::fake_env)) << name;
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_TRUE(out.spec) << name;
      EXPECT_TRUE(out.diagnostics.empty()) << name;
    } else {
      EXPECT_FALSE(out.spec) << name << " is broken but parsed";
      ASSERT_FALSE(out.diagnostics.empty()) << name;
    }
    for (const auto& d : out.diagnostics) {
      EXPECT_GE(d.line, 1) << name << ": " << to_string(d);
      EXPECT_GE(d.column, 1) << name << ": " << to_string(d);
      EXPECT_FALSE(d.message.empty()) << name;
    }
  }
  EXPECT_GE(files, 60u);
}

TEST(SpecCorpusTest, TruncatedSpecsNeverThrow) {
  auto text = fs::read_file(testing::corpus_dir() / "valid_full.yaml");
  ASSERT_TRUE(text.ok());
  for (size_t n = 0; n <= text->size(); n += 7) {
    EXPECT_NO_THROW(parse_spec(text->substr(0, n), "ztp.yaml", testing::fake_env)) << n;
  }
}

}  // namespace
}  // namespace ztp::spec
