#include "proxy/connection_options.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ztp::proxy {
namespace {

TEST(ConnectionOptionsTest, ListsFieldNamesButNotCloseOrKeepAlive) {
  ConnectionOptions options;
  options.add("close");
  options.add(" Keep-Alive ,");
  EXPECT_FALSE(options.any());
  options.add("close, X-Secret,,\tx-other ");
  EXPECT_TRUE(options.any());
  EXPECT_TRUE(options.lists("x-secret"));
  EXPECT_TRUE(options.lists("X-OTHER"));
  EXPECT_FALSE(options.lists("X-Secre"));
  EXPECT_FALSE(options.lists("close"));
  options.reset();
  EXPECT_FALSE(options.any());
  EXPECT_FALSE(options.lists("X-Secret"));
}

TEST(ConnectionOptionsTest, ErasesTheListedFieldsButHostAndLength) {
  ConnectionOptions options;
  options.add("X-Secret, Host, Content-Length, Transfer-Encoding, Accept");
  std::string head =
      "POST / HTTP/1.1\r\nX-Secret: a\r\nHost: h\r\nAccept: */*\r\nContent-Length: 1\r\n"
      "Transfer-Encoding: chunked\r\nX-Kept: k\r\nx-secret: b\r\n";
  options.erase_listed(head);
  EXPECT_EQ(head,
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n"
            "X-Kept: k\r\n");
}

TEST(ConnectionOptionsTest, LeavesTheStartLineAlone) {
  ConnectionOptions options;
  options.add("HTTP/1.1 200 OK");
  std::string head = "HTTP/1.1 200 OK\r\n";
  options.erase_listed(head);
  EXPECT_EQ(head, "HTTP/1.1 200 OK\r\n");
}

}  // namespace
}  // namespace ztp::proxy
