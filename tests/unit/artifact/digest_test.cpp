#include "artifact/digest.hpp"

#include <gtest/gtest.h>

namespace ztp::artifact {
namespace {

TEST(DigestTest, MatchesKnownSha256Vectors) {
  EXPECT_EQ(sha256_digest(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_digest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, IncrementalEqualsOneShot) {
  Sha256 h;
  h.update("hello ");
  h.update("");
  h.update("world");
  EXPECT_EQ(h.digest(), sha256_digest("hello world"));
}

TEST(DigestTest, AShortDigestIsTheAlgorithmAndTwelveHexDigits) {
  EXPECT_EQ(short_digest("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            "sha256:0123456789ab");
  EXPECT_EQ(short_digest("sha256:01"), "sha256:01");
  EXPECT_EQ(short_digest(""), "");
}

TEST(DigestTest, RecognisesOnlyFullLowerCaseSha256) {
  std::string good = sha256_digest("x");
  EXPECT_TRUE(is_sha256_digest(good));
  EXPECT_FALSE(is_sha256_digest(good.substr(0, good.size() - 1)));
  EXPECT_FALSE(is_sha256_digest("sha512:" + good.substr(7)));
  std::string upper = good;
  upper[10] = 'A';
  EXPECT_FALSE(is_sha256_digest(upper));
  EXPECT_EQ(digest_hex(good), good.substr(7));
  EXPECT_EQ(digest_hex("abcd"), "abcd");
}

}  // namespace
}  // namespace ztp::artifact
