#include "artifact/registry_http.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "registry_fake_server.hpp"
#include "support/support.hpp"

namespace ztp::artifact {
namespace {

TEST(RegistryUrlTest, ResolvesUploadLocationsAsRfc3986Says) {
  const std::string req = "http://127.0.0.1:5000/v2/team/app/blobs/uploads/";
  EXPECT_EQ(resolve_url(req, "/v2/team/app/blobs/uploads/u1?_state=a%3Db").value(),
            "http://127.0.0.1:5000/v2/team/app/blobs/uploads/u1?_state=a%3Db");
  EXPECT_EQ(resolve_url(req, "https://uploads.example.com/x/y?sig=1").value(),
            "https://uploads.example.com/x/y?sig=1");
  EXPECT_EQ(resolve_url(req, "//cdn.example.com/p").value(), "http://cdn.example.com/p");
  EXPECT_EQ(resolve_url(req, "u2").value(), "http://127.0.0.1:5000/v2/team/app/blobs/uploads/u2");
  EXPECT_FALSE(resolve_url("not a url", "/x").ok());
}

TEST(RegistryUrlTest, AppendsTheDigestAfterAnExistingQuery) {
  const std::string digest =
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  EXPECT_EQ(append_query("http://h/v2/a/blobs/uploads/u1", "digest", digest).value(),
            "http://h/v2/a/blobs/uploads/u1?digest=sha256%3ae3b0c44298fc1c149afbf4c8996fb92427ae"
            "41e4649b934ca495991b7852b855");
  EXPECT_EQ(append_query("http://h/u1?_state=xyz", "digest", "a b").value(),
            "http://h/u1?_state=xyz&digest=a+b");
}

TEST(RegistryUrlTest, EscapesQueryValues) {
  EXPECT_EQ(url_escape("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
}

TEST(HttpSessionTest, SendsTheBodyAndReadsStatusReasonAndHeaders) {
  test::FakeHttpServer server([](const test::FakeRequest& r) {
    test::FakeResponse res;
    res.status = 202;
    res.headers = {{"Location", "/next"}, {"X-Echo", r.method + " " + r.body}};
    return res;
  });
  HttpSession session;
  HttpRequest req;
  req.method = "PATCH";
  req.url = "http://" + server.host() + "/up";
  req.body = "chunk";
  req.headers = {"Content-Range: 0-4"};
  auto res = session.perform(req);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->reason, "Accepted");
  EXPECT_EQ(res->header("location"), "/next");
  EXPECT_EQ(res->header("x-echo"), "PATCH chunk");
  auto seen = server.requests().at(0);
  EXPECT_EQ(seen.header("content-range"), "0-4");
  EXPECT_EQ(seen.header("content-length"), "5");
  EXPECT_EQ(seen.header("content-type"), "") << "no form content type on a registry body";
  EXPECT_EQ(seen.header("expect"), "");
}

TEST(HttpSessionTest, KeepsOneConnectionAcrossRequests) {
  test::FakeHttpServer server([](const test::FakeRequest&) { return test::FakeResponse{}; });
  HttpSession session;
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "GET"}) {
    HttpRequest req;
    req.method = method;
    req.url = "http://" + server.host() + "/v2/";
    ASSERT_TRUE(session.perform(req).ok()) << method;
  }
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpSessionTest, RefusesAnAnswerLongerThanExpected) {
  test::FakeHttpServer server([](const test::FakeRequest&) {
    test::FakeResponse res;
    res.body = std::string(1000, 'x');
    return res;
  });
  HttpSession session;
  HttpRequest req;
  req.url = "http://" + server.host() + "/big";
  req.max_body = 10;
  auto res = session.perform(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::invalid);
  EXPECT_NE(res.error().message.find("longer than the 10 bytes"), std::string::npos);
}

TEST(HttpSessionTest, ConnectionRefusedIsUnavailable) {
  HttpSession session;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ztp::testing::free_port()) + "/v2/";
  auto res = session.perform(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::unavailable);
  EXPECT_EQ(res.error().message, "Connection refused");
}

TEST(HttpSessionTest, AStalledPeerTimesOut) {
  // A listener that never accepts: the kernel completes the handshake, nothing ever answers.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  HttpSession session;
  session.set_timeouts(RegistryTimeouts{std::chrono::milliseconds(1000), std::chrono::seconds(1)});
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/v2/";
  auto res = session.perform(req);
  ::close(fd);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::timeout);
  EXPECT_NE(res.error().message.find("no data moved for 1 s"), std::string::npos)
      << res.error().message;
}

}  // namespace
}  // namespace ztp::artifact
