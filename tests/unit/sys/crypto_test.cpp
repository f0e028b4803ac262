#include "sys/crypto.hpp"

#include <gtest/gtest.h>

namespace ztp::sys {
namespace {

TEST(CryptoTest, HexRoundTripsAndRefusesWhatIsNotHex) {
  EXPECT_EQ(to_hex(std::string("\x01\xab\xff", 3)), "01abff");
  EXPECT_EQ(from_hex("01ABff"), std::string("\x01\xab\xff", 3));
  EXPECT_EQ(from_hex(""), std::string());
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(CryptoTest, Sha256MatchesTheFips180Examples) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 pieces;
  pieces.update("a");
  pieces.update("bc");
  EXPECT_EQ(to_hex(pieces.finish()), sha256_hex("abc"));
  EXPECT_EQ(sha256("abc").size(), 32u);
}

TEST(CryptoTest, HmacSha256MatchesRfc4231) {
  // RFC 4231, test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            hmac_sha256_hex("Jefe", "what do ya want for nothing?"));
}

TEST(CryptoTest, Base64PadsAsRfc4648Says) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}

TEST(CryptoTest, ComparesEqualOnlyForTheSameBytes) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(CryptoTest, RandomBytesAreFreshEachTime) {
  auto a = random_bytes(32);
  auto b = random_bytes(32);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace ztp::sys
