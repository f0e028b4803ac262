#include "sys/host_port.hpp"

#include <gtest/gtest.h>

namespace ztp::sys {
namespace {

TEST(HostPortTest, ParsesTheFormsOfHostAndPort) {
  auto v4 = parse_host_port("127.0.0.1:80");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 80);
  auto v6 = parse_host_port("[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(parse_host_port("localhost:1").ok());
  EXPECT_FALSE(parse_host_port("::1:80").ok());
  EXPECT_FALSE(parse_host_port("host:0").ok());
  EXPECT_TRUE(parse_host_port("host:0", true).ok());
  EXPECT_FALSE(parse_host_port(":80").ok());
  EXPECT_FALSE(parse_host_port("host:").ok());
  EXPECT_FALSE(parse_host_port("host:8x").ok());
}

TEST(HostPortTest, AnErrorNamesWhatWasGivenAndTheFormExpected) {
  auto bad = parse_host_port("example.com");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid);
  EXPECT_NE(bad.error().message.find("'example.com' is not host:port"), std::string::npos);
  EXPECT_FALSE(parse_host_port("host:65536").ok());
  EXPECT_FALSE(parse_host_port("[::1:80").ok());
  EXPECT_FALSE(parse_host_port("a b:80").ok());
}

TEST(HostPortTest, PortOfIsZeroForWhatIsNotHostPort) {
  EXPECT_EQ(port_of("127.0.0.1:8080"), 8080);
  EXPECT_EQ(port_of("[::1]:1"), 1);
  EXPECT_EQ(port_of("unix:/run/x.sock"), 0);
  EXPECT_EQ(port_of(""), 0);
}

}  // namespace
}  // namespace ztp::sys
