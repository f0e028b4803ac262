#include <gtest/gtest.h>

#include "store/sqlite_store.hpp"
#include "store_test_util.hpp"

namespace ztp::store {
namespace {

using test::TempStore;

NewRelease release_of(const std::string& env, const std::string& digest) {
  NewRelease r;
  r.env = env;
  r.digest = digest;
  r.image_ref = "local/shop@" + digest;
  r.short_sha = "abc1234";
  r.config_hash = "cfg-" + digest;
  r.replicas = 3;
  r.strategy = "canary";
  return r;
}

TEST(SqliteStoreReleasesTest, RevisionsCountPerEnvironment) {
  TempStore s;
  auto dev1 = s->create_release(release_of("dev", "sha256:a"));
  ASSERT_TRUE(dev1.ok()) << dev1.error().message;
  auto dev2 = s->create_release(release_of("dev", "sha256:b"));
  auto qa1 = s->create_release(release_of("qa", "sha256:a"));
  auto dev3 = s->create_release(release_of("dev", "sha256:c"));
  EXPECT_EQ(dev1->revision, 1);
  EXPECT_EQ(dev2->revision, 2);
  EXPECT_EQ(qa1->revision, 1);
  EXPECT_EQ(dev3->revision, 3);

  EXPECT_EQ(dev1->status, ReleaseStatus::pending);
  EXPECT_EQ(dev1->image_ref, "local/shop@sha256:a");
  EXPECT_EQ(dev1->short_sha, "abc1234");
  EXPECT_EQ(dev1->config_hash, "cfg-sha256:a");
  EXPECT_EQ(dev1->replicas, 3);
  EXPECT_EQ(dev1->strategy, "canary");
  EXPECT_EQ(dev1->created_at, s.now_ms());
  EXPECT_FALSE(dev1->run_id);
  EXPECT_FALSE(dev1->activated_at);

  auto read = s->get_release("dev", 2);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->digest, "sha256:b");
  auto missing = s->get_release("qa", 2);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);

  auto listed = s->list_releases("dev");
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].revision, 3);  // newest first
  EXPECT_EQ((*listed)[2].revision, 1);
  EXPECT_EQ(s->list_releases("dev", 2)->size(), 2u);
  EXPECT_TRUE(s->list_releases("prod")->empty());
}

TEST(SqliteStoreReleasesTest, ReleaseKeepsItsRun) {
  TempStore s;
  auto run = s->create_run(NewRun{"shop", "abc1234def", "abc1234", Trigger::webhook, ""});
  auto r = release_of("dev", "sha256:a");
  r.run_id = run->id;
  auto created = s->create_release(r);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->run_id, run->id);
  r.run_id = 9999;
  auto orphan = s->create_release(r);
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code, Errc::not_found);
  // A failed insert takes no revision.
  EXPECT_EQ(s->create_release(release_of("dev", "sha256:b"))->revision, 2);
}

TEST(SqliteStoreReleasesTest, CreateReleaseRejectsMissingFields) {
  TempStore s;
  auto no_env = s->create_release(release_of("", "sha256:a"));
  ASSERT_FALSE(no_env.ok());
  EXPECT_EQ(no_env.error().code, Errc::invalid);
  auto no_digest = s->create_release(release_of("dev", ""));
  ASSERT_FALSE(no_digest.ok());
  EXPECT_EQ(no_digest.error().code, Errc::invalid);
}

TEST(SqliteStoreReleasesTest, ActivatingSupersedesThePreviousActiveRelease) {
  TempStore s;
  ASSERT_TRUE(s->create_release(release_of("dev", "sha256:a")).ok());
  ASSERT_TRUE(s->create_release(release_of("dev", "sha256:b")).ok());
  ASSERT_TRUE(s->create_release(release_of("qa", "sha256:a")).ok());
  auto none = s->current_release("dev");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(s->set_release_status("dev", 1, ReleaseStatus::deploying).ok());
  auto first = s->set_release_status("dev", 1, ReleaseStatus::active);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->status, ReleaseStatus::active);
  EXPECT_EQ(first->activated_at, s.now_ms());
  ASSERT_TRUE(s->set_release_status("qa", 1, ReleaseStatus::active).ok());

  s.clock.advance(std::chrono::minutes(1));
  auto second = s->set_release_status("dev", 2, ReleaseStatus::active);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->activated_at, s.now_ms());
  EXPECT_EQ(s->get_release("dev", 1)->status, ReleaseStatus::superseded);
  auto current = s->current_release("dev");
  ASSERT_TRUE(current->has_value());
  EXPECT_EQ((*current)->revision, 2);
  // Another environment's active release is untouched.
  EXPECT_EQ(s->get_release("qa", 1)->status, ReleaseStatus::active);

  // Setting the active release active again keeps its activation time.
  int64_t activated = *second->activated_at;
  s.clock.advance(std::chrono::minutes(1));
  EXPECT_EQ(s->set_release_status("dev", 2, ReleaseStatus::active)->activated_at, activated);

  // Rolling back to revision 1 re-activates it and supersedes revision 2.
  auto back = s->set_release_status("dev", 1, ReleaseStatus::active);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->activated_at, s.now_ms());
  EXPECT_EQ(s->get_release("dev", 2)->status, ReleaseStatus::superseded);

  ASSERT_TRUE(s->set_release_status("dev", 1, ReleaseStatus::rolled_back).ok());
  EXPECT_FALSE(s->current_release("dev")->has_value());

  auto missing = s->set_release_status("dev", 7, ReleaseStatus::active);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_NE(missing.error().message.find("dev"), std::string::npos);
}

TEST(SqliteStoreReleasesTest, LastKnownGoodPointsAtARelease) {
  TempStore s;
  auto none = s->get_last_known_good("dev");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(s->create_release(release_of("dev", "sha256:a")).ok());
  ASSERT_TRUE(s->create_release(release_of("dev", "sha256:b")).ok());

  auto set = s->set_last_known_good("dev", 1);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->digest, "sha256:a");
  s.clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(s->set_last_known_good("dev", 2).ok());
  auto lkg = s->get_last_known_good("dev");
  ASSERT_TRUE(lkg->has_value());
  EXPECT_EQ((*lkg)->revision, 2);
  EXPECT_EQ((*lkg)->digest, "sha256:b");
  EXPECT_EQ((*lkg)->updated_at, s.now_ms());

  auto missing = s->set_last_known_good("dev", 5);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ((*s->get_last_known_good("dev"))->revision, 2);
  EXPECT_FALSE(s->get_last_known_good("qa")->has_value());
}

TEST(SqliteStoreReleasesTest, BadDigestsPerEnvironmentOrEverywhere) {
  TempStore s;
  EXPECT_FALSE(*s->is_bad("sha256:a"));
  ASSERT_TRUE(s->mark_bad("sha256:a", "failed verification in qa", std::string("qa")).ok());
  EXPECT_TRUE(*s->is_bad("sha256:a", std::string("qa")));
  EXPECT_FALSE(*s->is_bad("sha256:a", std::string("prod")));
  EXPECT_TRUE(*s->is_bad("sha256:a"));  // bad somewhere

  ASSERT_TRUE(s->mark_bad("sha256:b", "crashes on start").ok());
  EXPECT_TRUE(*s->is_bad("sha256:b", std::string("prod")));  // bad everywhere

  s.clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(s->mark_bad("sha256:a", "failed again", std::string("qa")).ok());
  auto marks = s->list_bad_digests();
  ASSERT_TRUE(marks.ok());
  ASSERT_EQ(marks->size(), 2u);
  EXPECT_EQ((*marks)[0].digest, "sha256:a");  // newest first, marked again replaces
  EXPECT_EQ((*marks)[0].reason, "failed again");
  EXPECT_EQ((*marks)[0].env, "qa");
  EXPECT_EQ((*marks)[0].marked_at, s.now_ms());
  EXPECT_FALSE((*marks)[1].env);

  EXPECT_FALSE(*s->clear_bad("sha256:a", std::string("prod")));
  EXPECT_TRUE(*s->clear_bad("sha256:a"));
  EXPECT_FALSE(*s->is_bad("sha256:a"));
  EXPECT_FALSE(s->mark_bad("", "x").ok());
}

TEST(SqliteStoreReleasesTest, EnvStateIsReplacedWhole) {
  TempStore s;
  EXPECT_FALSE(s->get_env_state("prod")->has_value());
  auto set = s->set_env_state(EnvState{"prod", 3, R"({"4":90,"5":10})", "hash-1", 0});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->updated_at, s.now_ms());
  ASSERT_TRUE(s->set_env_state(EnvState{"dev", 1, "{}", "hash-d", 0}).ok());
  s.clock.advance(std::chrono::seconds(1));
  ASSERT_TRUE(s->set_env_state(EnvState{"prod", 4, R"({"5":100})", "hash-2", 0}).ok());

  auto prod = s->get_env_state("prod");
  ASSERT_TRUE(prod->has_value());
  EXPECT_EQ((*prod)->replicas, 4);
  EXPECT_EQ((*prod)->weights, R"({"5":100})");
  EXPECT_EQ((*prod)->spec_hash, "hash-2");
  EXPECT_EQ((*prod)->updated_at, s.now_ms());

  auto all = s->list_env_states();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].env, "dev");
  EXPECT_EQ((*all)[1].env, "prod");

  auto bad = s->set_env_state(EnvState{"prod", 1, "{oops", "h", 0});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
  EXPECT_EQ((*s->get_env_state("prod"))->replicas, 4);
}

}  // namespace
}  // namespace ztp::store
