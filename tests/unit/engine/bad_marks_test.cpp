#include "engine/bad_marks.hpp"

#include <gtest/gtest.h>

#include "../store/store_test_util.hpp"

namespace ztp::engine {
namespace {

using store::test::TempStore;

const std::string k_digest = "sha256:" + std::string(64, 'a');
const std::string k_other = "sha256:" + std::string(63, 'a') + "b";

// Images no longer in the image store: unmark finds them among the marks.
class BadMarksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spec.file = s.dir / "ztp.yaml";
    for (const char* name : {"dev", "prod"}) {
      spec::Environment env;
      env.name = name;
      spec.environments.push_back(env);
    }
  }

  Result<Unmarked> unmark(const std::string& env, const std::string& image) {
    return unmark_image(spec, s.dir / "home", *s.store, env, image, "alice");
  }

  TempStore s;
  spec::Spec spec;
};

TEST_F(BadMarksTest, ClearsTheEnvironmentsMarkByAUniquePrefixAndAuditsIt) {
  ASSERT_TRUE(s->mark_bad(k_digest, "canary failed its analysis", std::string("prod")).ok());
  ASSERT_TRUE(s->mark_bad(k_digest, "rolled back by cli", std::string("dev")).ok());
  auto done = unmark("prod", "sha256:aaaaaaaa");
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->digest, k_digest);
  ASSERT_TRUE(done->removed);
  EXPECT_EQ(done->removed->reason, "canary failed its analysis");
  EXPECT_FALSE(done->still_bad);
  EXPECT_FALSE(*s->is_bad(k_digest, std::string("prod")));
  EXPECT_TRUE(*s->is_bad(k_digest, std::string("dev"))) << "other environments keep their mark";
  auto audit = s->list_audit();
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].actor, "alice");
  EXPECT_EQ((*audit)[0].action, "unmark");
  EXPECT_EQ((*audit)[0].target, "env prod");
  EXPECT_NE((*audit)[0].detail.find(k_digest), std::string::npos);
  store::EventFilter filter;
  auto events = s->list_events(filter);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "image.unmarked");
  EXPECT_EQ((*events)[0].env, std::optional<std::string>("prod"));
}

TEST_F(BadMarksTest, SaysWhenNothingIsMarked) {
  ASSERT_TRUE(s->mark_bad(k_digest, "broke dev", std::string("dev")).ok());
  // The digest is known (marked in dev) but not marked in prod: nothing to do, nothing written.
  auto none = unmark("prod", k_digest);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_NE(none.error().message.find("nothing to unmark"), std::string::npos)
      << none.error().message;
  EXPECT_TRUE(s->list_audit()->empty());
  auto unknown = unmark("prod", "v9-does-not-exist");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  auto no_env = unmark("staging", k_digest);
  ASSERT_FALSE(no_env.ok());
  EXPECT_EQ(no_env.error().code, Errc::invalid);
}

TEST_F(BadMarksTest, AnAmbiguousPrefixIsRefused) {
  ASSERT_TRUE(s->mark_bad(k_digest, "one", std::string("prod")).ok());
  ASSERT_TRUE(s->mark_bad(k_other, "two", std::string("prod")).ok());
  auto both = unmark("prod", "aaaa");
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.error().code, Errc::invalid);
  EXPECT_TRUE(*s->is_bad(k_digest, std::string("prod")));
  EXPECT_TRUE(*s->is_bad(k_other, std::string("prod")));
}

TEST_F(BadMarksTest, AMarkForEveryEnvironmentIsReportedAndKept) {
  ASSERT_TRUE(s->mark_bad(k_digest, "bad everywhere").ok());
  auto mark = bad_mark(*s.store, k_digest, "prod");
  ASSERT_TRUE(mark.ok());
  ASSERT_TRUE(mark->has_value());
  EXPECT_FALSE((*mark)->env);
  auto done = unmark("prod", k_digest);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_FALSE(done->removed);
  EXPECT_TRUE(done->still_bad);
  EXPECT_TRUE(*s->is_bad(k_digest, std::string("prod")));
}

}  // namespace
}  // namespace ztp::engine
