#include "spec/address.hpp"

#include <gtest/gtest.h>

#include "spec/suggest.hpp"

namespace ztp::spec {
namespace {

TEST(ListenAddressTest, ParsesHostsAndPorts) {
  auto a = parse_listen("127.0.0.1:8081");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8081);
  auto b = parse_listen("[::1]:443");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_TRUE(parse_listen("localhost:1").ok());
  EXPECT_TRUE(parse_listen("front.example.com:65535").ok());
}

TEST(ListenAddressTest, RejectsBadHostsAndPorts) {
  EXPECT_FALSE(parse_listen("").ok());
  EXPECT_FALSE(parse_listen(":8080").ok());
  EXPECT_FALSE(parse_listen("127.0.0.1").ok());
  // Ports out of range and non-numbers are sys::parse_host_port's to reject (its tests cover
  // them); the message stays the spec's.
  EXPECT_EQ(parse_listen("127.0.0.1:0").error().message,
            "port `0` is not a number from 1 to 65535");
  EXPECT_FALSE(parse_listen("127.0.0.1:+80").ok());
  EXPECT_FALSE(parse_listen("300.0.0.1:80").ok());
  EXPECT_FALSE(parse_listen("::1:80").ok());
  EXPECT_FALSE(parse_listen("[::g]:80").ok());
  EXPECT_FALSE(parse_listen("bad_host:80").ok());
}

TEST(ListenAddressTest, WildcardsConflictWithEveryHostOnTheirPort) {
  ListenAddress any{"0.0.0.0", 80};
  ListenAddress local{"127.0.0.1", 80};
  ListenAddress other{"127.0.0.1", 81};
  EXPECT_TRUE(listen_conflict(any, local));
  EXPECT_TRUE(listen_conflict(local, local));
  EXPECT_FALSE(listen_conflict(local, other));
  EXPECT_FALSE(listen_conflict(ListenAddress{"10.0.0.1", 80}, local));
}

TEST(PortRangeTest, ParsesAndRejects) {
  auto r = parse_port_range("20000-29999");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 20000);
  EXPECT_EQ(r->second, 29999);
  EXPECT_TRUE(parse_port_range("80-80").ok());
  EXPECT_FALSE(parse_port_range("20000").ok());
  EXPECT_FALSE(parse_port_range("0-10").ok());
  EXPECT_FALSE(parse_port_range("10-70000").ok());
  EXPECT_FALSE(parse_port_range("a-b").ok());
}

TEST(RegistryTest, RejectsMalformedRegistries) {
  EXPECT_TRUE(parse_registry("local").ok());
  EXPECT_FALSE(parse_registry("").ok());
  EXPECT_FALSE(parse_registry("docker.io/site").ok());
  EXPECT_FALSE(parse_registry("oci://host").ok());
  EXPECT_FALSE(parse_registry("oci:///site").ok());
  EXPECT_FALSE(parse_registry("oci://host/Site").ok());
  EXPECT_FALSE(parse_registry("oci://host/site:latest").ok());
  EXPECT_FALSE(parse_registry("ecr://registry.example.com/site").ok());
  EXPECT_TRUE(parse_registry("oci://127.0.0.1:5000/a/b-c_d.e").ok());
}

TEST(UrlTest, AcceptsOnlyHttpUrlsWithAHost) {
  EXPECT_TRUE(is_http_url("https://hooks.slack.com/services/x"));
  EXPECT_TRUE(is_http_url("http://127.0.0.1:9000/hook?x=1"));
  EXPECT_FALSE(is_http_url("https://"));
  EXPECT_FALSE(is_http_url("ftp://example.com"));
  EXPECT_FALSE(is_http_url("example.com/hook"));
}

TEST(SuggestTest, SuggestsCloseNamesOnly) {
  EXPECT_EQ(edit_distance("replica", "replicas"), 1u);
  EXPECT_EQ(edit_distance("strtaegy", "strategy"), 1u);
  EXPECT_EQ(suggest("lisen", {"name", "listen"}), "did you mean `listen`?");
  EXPECT_EQ(suggest("colour", {"app", "source"}, "known keys"), "known keys: app, source");
  EXPECT_EQ(suggest("x", {"ab"}), "use one of: ab");
}

}  // namespace
}  // namespace ztp::spec
