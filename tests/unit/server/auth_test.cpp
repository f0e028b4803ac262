#include "server/auth.hpp"

#include <gtest/gtest.h>

#include "support/support.hpp"

namespace ztp::server {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(dir / "state.db");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    db = std::move(*opened);
  }

  static Request bearer(const std::string& token) {
    Request req;
    req.headers["authorization"] = "Bearer " + token;
    return req;
  }

  testing::TempDir dir;
  std::unique_ptr<store::SqliteStore> db;
};

TEST(TokenTest, HasThePrefixAnd32RandomBytesInHex) {
  auto a = generate_token();
  auto b = generate_token();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), 4u + 64u);
  EXPECT_EQ(a->rfind("ztp_", 0), 0u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_NE(*a, *b);
}

TEST(TokenTest, HashIsLowerHexSha256) {
  EXPECT_EQ(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenTest, RolesAreOrdered) {
  using store::Role;
  EXPECT_TRUE(role_allows(Role::admin, Role::deployer));
  EXPECT_TRUE(role_allows(Role::deployer, Role::deployer));
  EXPECT_TRUE(role_allows(Role::deployer, Role::viewer));
  EXPECT_FALSE(role_allows(Role::viewer, Role::deployer));
  EXPECT_FALSE(role_allows(Role::deployer, Role::admin));
}

TEST_F(AuthTest, StoresOnlyTheHashAndAuthenticatesTheBearer) {
  auto issued = issue_token(*db, "ci", store::Role::deployer);
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  EXPECT_EQ(issued->record.token_hash, hash_token(issued->token));
  auto listed = db->list_tokens();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_NE(listed->front().token_hash, issued->token);

  auto caller = authenticate(*db, bearer(issued->token), false);
  ASSERT_TRUE(caller.ok()) << caller.error().message;
  EXPECT_EQ(caller->name, "ci");
  EXPECT_EQ(caller->role, store::Role::deployer);
}

TEST_F(AuthTest, RefusesMissingUnknownAndRevokedTokens) {
  auto issued = issue_token(*db, "alice", store::Role::viewer);
  ASSERT_TRUE(issued.ok());

  auto none = authenticate(*db, Request{}, false);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::invalid);

  auto unknown = authenticate(*db, bearer("ztp_0000"), false);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::not_found);

  ASSERT_TRUE(db->revoke_token("alice").ok());
  auto revoked = authenticate(*db, bearer(issued->token), false);
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code, Errc::not_found);
}

TEST_F(AuthTest, AcceptsAQueryTokenOnlyWhereAllowed) {
  auto issued = issue_token(*db, "browser", store::Role::viewer);
  ASSERT_TRUE(issued.ok());
  Request req;
  req.query["access_token"] = issued->token;
  EXPECT_FALSE(authenticate(*db, req, false).ok());
  auto caller = authenticate(*db, req, true);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->name, "browser");
}

TEST_F(AuthTest, RefusesADuplicateNameAndAnEmptyOne) {
  ASSERT_TRUE(issue_token(*db, "ci", store::Role::viewer).ok());
  auto again = issue_token(*db, "ci", store::Role::admin);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::conflict);
  EXPECT_NE(again.error().message.find("ztp token revoke ci"), std::string::npos);
  auto empty = issue_token(*db, "", store::Role::admin);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::invalid);
}

}  // namespace
}  // namespace ztp::server
