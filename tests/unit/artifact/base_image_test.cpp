#include "artifact/base_image.hpp"

#include <gtest/gtest.h>

namespace ztp::artifact {
namespace {

TEST(BaseImageTest, ShortNamesAreDockerHubsLibrary) {
  auto r = parse_base_ref("nginx:alpine", "/srv");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, BaseRef::Kind::registry);
  EXPECT_EQ(r->endpoint.host, "registry-1.docker.io");
  EXPECT_EQ(r->endpoint.repository, "library/nginx");
  EXPECT_EQ(r->reference, "alpine");
  EXPECT_FALSE(r->endpoint.plain_http);

  auto user = parse_base_ref("docker.io/bitnami/nginx", "/srv");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->endpoint.repository, "bitnami/nginx");
  EXPECT_EQ(user->reference, "latest");
}

TEST(BaseImageTest, AHostWithAPortAndADigest) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto r = parse_base_ref("127.0.0.1:5000/base/nginx:1.22@" + digest, "/srv");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->endpoint.host, "127.0.0.1:5000");
  EXPECT_EQ(r->endpoint.repository, "base/nginx");
  EXPECT_EQ(r->reference, digest) << "a digest wins over the tag";
  EXPECT_TRUE(r->endpoint.plain_http) << "loopback registries speak http";

  auto local = parse_base_ref("localhost/app", "/srv");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->endpoint.host, "localhost");
  EXPECT_EQ(local->endpoint.repository, "app");
}

TEST(BaseImageTest, LayoutsAreRelativeToTheSpec) {
  auto r = parse_base_ref("oci:images/base:v2", "/srv/app");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->kind, BaseRef::Kind::layout);
  EXPECT_EQ(r->layout, std::filesystem::path("/srv/app/images/base"));
  EXPECT_EQ(r->layout_ref, "v2");

  auto only = parse_base_ref("oci:/opt/base", "/srv/app");
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->layout, std::filesystem::path("/opt/base"));
  EXPECT_EQ(only->layout_ref, "");
}

TEST(BaseImageTest, MalformedReferencesSayWhy) {
  auto upper = parse_base_ref("Nginx:alpine", "/");
  ASSERT_FALSE(upper.ok());
  EXPECT_NE(upper.error().message.find("lower-case"), std::string::npos);
  auto digest = parse_base_ref("nginx@sha256:xyz", "/");
  ASSERT_FALSE(digest.ok());
  EXPECT_NE(digest.error().message.find("digest"), std::string::npos);
  auto tag = parse_base_ref("nginx:-bad", "/");
  ASSERT_FALSE(tag.ok());
  EXPECT_NE(tag.error().message.find("tag"), std::string::npos);
  EXPECT_FALSE(parse_base_ref("oci:", "/").ok());
}

TEST(BaseImageTest, Platforms) {
  auto p = parse_platform("linux/arm/v7");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->architecture, "arm");
  EXPECT_EQ(p->variant, "v7");
  EXPECT_EQ(p->str(), "linux/arm/v7");
  EXPECT_FALSE(parse_platform("linux").ok());
  EXPECT_FALSE(parse_platform("linux//v7").ok());
  Platform host = host_platform();
  EXPECT_EQ(host.os, "linux");
  EXPECT_FALSE(host.architecture.empty());
}

}  // namespace
}  // namespace ztp::artifact
