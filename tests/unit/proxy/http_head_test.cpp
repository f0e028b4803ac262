#include "proxy/http_head.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/error.hpp>
#include <string>
#include <vector>

namespace ztp::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string flatten(const std::vector<asio::const_buffer>& iov) {
  std::string out;
  for (const auto& b : iov) {
    out.append(static_cast<const char*>(b.data()), b.size());
  }
  return out;
}

bool has_line(const std::string& head, const std::string& line) {
  return head.find("\r\n" + line + "\r\n") != std::string::npos;
}

// Puts all of `text` into `req`; returns the bytes consumed.
size_t put_all(RequestHead& req, std::string_view text, beast::error_code& ec) {
  return req.put(asio::buffer(text.data(), text.size()), ec);
}

TEST(RequestHeadTest, RewritesTheHeadForTheBackend) {
  RequestHead req;
  req.reset("10.0.0.9");
  std::string text =
      "GET /a?b=1 HTTP/1.0\r\nHost: front\r\nConnection: keep-alive, Upgrade\r\n"
      "Keep-Alive: timeout=5\r\nUpgrade: h2c\r\nTE: trailers\r\nProxy-Connection: x\r\n"
      "X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\nX-Request-Id: abc\r\n"
      "Accept: */*\r\n\r\n";
  beast::error_code ec;
  EXPECT_EQ(put_all(req, text, ec), text.size());
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(req.done());
  EXPECT_EQ(req.method(), http::verb::get);
  EXPECT_EQ(req.method_string(), "GET");
  EXPECT_EQ(req.target(), "/a?b=1");
  EXPECT_EQ(req.version(), 10u);
  EXPECT_TRUE(req.keep_alive());
  EXPECT_EQ(req.request_id(), "abc");
  EXPECT_EQ(req.upstream_head(),
            "GET /a?b=1 HTTP/1.1\r\nHost: front\r\nX-Request-Id: abc\r\nAccept: */*\r\n"
            "X-Forwarded-For: 1.2.3.4, 10.0.0.9\r\nX-Forwarded-Proto: http\r\n\r\n");
}

TEST(RequestHeadTest, GeneratesARequestIdWhenTheClientSentNone) {
  RequestHead req;
  req.reset("127.0.0.1");
  beast::error_code ec;
  put_all(req, "GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: \r\n\r\n", ec);
  ASSERT_FALSE(ec);
  const std::string id = req.request_id();
  ASSERT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(has_line(req.upstream_head(), "X-Request-Id: " + id));
  EXPECT_TRUE(has_line(req.upstream_head(), "X-Forwarded-For: 127.0.0.1"));
  EXPECT_EQ(req.upstream_head().find("X-Request-Id: \r\n"), std::string::npos);

  req.reset("127.0.0.1");
  put_all(req, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ec);
  ASSERT_FALSE(ec);
  EXPECT_NE(req.request_id(), id);
}

TEST(RequestHeadTest, JoinsRepeatedForwardedForFields) {
  RequestHead req;
  req.reset("127.0.0.1");
  beast::error_code ec;
  put_all(req,
          "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2, "
          "3.3.3.3\r\n"
          "X-Forwarded-For:\r\n\r\n",
          ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(
      has_line(req.upstream_head(), "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1"));
}

TEST(RequestHeadTest, ReportsAndDropsExpectContinue) {
  RequestHead req;
  req.reset("127.0.0.1");
  beast::error_code ec;
  std::string head =
      "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
  EXPECT_EQ(put_all(req, head, ec), head.size());
  ASSERT_FALSE(ec);
  EXPECT_TRUE(req.expects_continue());
  EXPECT_TRUE(req.header_done());
  EXPECT_FALSE(req.done());
  EXPECT_EQ(req.upstream_head().find("Expect"), std::string::npos);
  EXPECT_TRUE(has_line(req.upstream_head(), "Content-Length: 5"));
}

TEST(RequestHeadTest, WaitsForAHeadSplitAcrossReads) {
  RequestHead req;
  req.reset("127.0.0.1");
  std::string text = "GET /split HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string part = text.substr(0, 20);
  beast::error_code ec;
  EXPECT_EQ(put_all(req, part, ec), 0u);
  EXPECT_EQ(ec, http::error::need_more);
  EXPECT_EQ(put_all(req, text, ec), text.size());
  ASSERT_FALSE(ec);
  EXPECT_TRUE(req.done());
  EXPECT_EQ(req.target(), "/split");
}

TEST(RequestHeadTest, ConsumesBodiesWithTheirFramingAndStopsAtTheNextRequest) {
  RequestHead req;
  req.reset("127.0.0.1");
  std::string head = "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string body = "3\r\nabc\r\n0\r\n\r\n";
  std::string next = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string text = head + body + next;
  beast::error_code ec;
  size_t n = put_all(req, text, ec);
  ASSERT_FALSE(ec);
  ASSERT_EQ(n, head.size());
  EXPECT_TRUE(has_line(req.upstream_head(), "Transfer-Encoding: chunked"));
  // Body bytes arrive in pieces, appended to what is still pending (as in a session's
  // buffer); what put() consumes is relayed as received.
  std::string relayed;
  std::string pending;
  std::string_view source(text.data() + n, text.size() - n);
  while (!req.done()) {
    ASSERT_FALSE(source.empty());
    size_t step = std::min<size_t>(source.size(), 4);
    pending.append(source.data(), step);
    source.remove_prefix(step);
    size_t used = req.put(asio::buffer(pending), ec);
    ASSERT_TRUE(!ec || ec == http::error::need_more) << ec.message();
    relayed += pending.substr(0, used);
    pending.erase(0, used);
  }
  std::string rest = pending + std::string(source);
  EXPECT_EQ(relayed, body);
  EXPECT_EQ(rest, next);

  req.reset("127.0.0.1");
  EXPECT_EQ(put_all(req, rest, ec), rest.size());
  ASSERT_FALSE(ec);
  EXPECT_EQ(req.target(), "/next");
  EXPECT_EQ(req.upstream_head().find("chunked"), std::string::npos);
}

TEST(RequestHeadTest, RejectsAMalformedRequest) {
  RequestHead req;
  req.reset("127.0.0.1");
  beast::error_code ec;
  put_all(req, "GET / HTTP/1.1\r\nBad Field\r\n\r\n", ec);
  EXPECT_TRUE(ec);
  EXPECT_NE(ec, http::error::need_more);
  EXPECT_EQ(req.refusal(), 400);
}

// The status RequestHead refuses `head` with; 0 when it would forward it.
int refusal_of(std::string_view head) {
  RequestHead req;
  req.reset("127.0.0.1", "127.0.0.1:8080");
  beast::error_code ec;
  put_all(req, head, ec);
  if (ec == http::error::need_more) {
    return -1;
  }
  return ec ? req.refusal() : 0;
}

TEST(RequestHeadTest, RefusesTransferCodingsOtherThanChunked) {
  const std::string start = "POST /p HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: chunked\r\n\r\n"), 0);
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: identity\r\n\r\n"), 501);
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: xchunked\r\n\r\n"), 501);
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
            501);
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: chunked;q=1\r\n\r\n"), 501);
}

TEST(RequestHeadTest, RefusesChunkedThatIsNotTheLastCoding) {
  const std::string start = "POST /p HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: chunked, identity\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: chunked , chunked\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"),
            400);
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: ,\r\n\r\n"), 400);
  // An empty list element is no coding.
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: , chunked\r\n\r\n"), 0);
}

TEST(RequestHeadTest, RefusesAmbiguousLengths) {
  const std::string start = "POST /p HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(refusal_of(start + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of(start + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of(start + "Content-Length: 3\r\nTransfer-Encoding: identity\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of(start + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of(start + "Content-Length: 3, 4\r\n\r\n"), 400);
  // HTTP/1.0 has no transfer codings.
  EXPECT_EQ(refusal_of("POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}

TEST(RequestHeadTest, RefusesAMissingOrRepeatedHostAndConnect) {
  EXPECT_EQ(refusal_of("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(refusal_of("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), 405);
}

TEST(RequestHeadTest, GivesAnHttp10RequestWithoutHostTheListenersAuthority) {
  RequestHead req;
  req.reset("10.0.0.9", "127.0.0.1:8080");
  beast::error_code ec;
  put_all(req, "GET /old HTTP/1.0\r\nAccept: */*\r\n\r\n", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(req.upstream_head().rfind("GET /old HTTP/1.1\r\n", 0), 0u);
  EXPECT_TRUE(has_line(req.upstream_head(), "Host: 127.0.0.1:8080"));

  req.reset("10.0.0.9", "127.0.0.1:8080");
  put_all(req, "GET /old HTTP/1.0\r\nHost: mine\r\n\r\n", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(has_line(req.upstream_head(), "Host: mine"));
  EXPECT_EQ(req.upstream_head().find("8080"), std::string::npos);
}

// RFC 9110 section 7.6.1: a field the Connection header names is meant for the proxy alone,
// whether it comes before or after that header, in any case, over several Connection fields.
TEST(RequestHeadTest, DropsTheFieldsConnectionNames) {
  RequestHead req;
  req.reset("10.0.0.9");
  std::string text =
      "GET / HTTP/1.1\r\nHost: front\r\nX-Secret: before\r\nConnection: close, X-Secret\r\n"
      "connection: ,x-other ,\r\nX-Other: 1\r\nx-secret: after\r\nAccept: */*\r\n\r\n";
  beast::error_code ec;
  EXPECT_EQ(put_all(req, text, ec), text.size());
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(req.keep_alive());
  EXPECT_EQ(req.upstream_head(),
            "GET / HTTP/1.1\r\nHost: front\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.9\r\n"
            "X-Forwarded-Proto: http\r\nX-Request-Id: " +
                req.request_id() + "\r\n\r\n");
}

// Dropping Host or a length the proxy read the body by would let the backend read the request
// differently; the forwarding fields the proxy writes itself are its own, not the client's.
TEST(RequestHeadTest, KeepsHostLengthAndItsOwnForwardingFieldsWhateverConnectionNames) {
  RequestHead req;
  req.reset("10.0.0.9");
  std::string text =
      "POST /p HTTP/1.1\r\nHost: front\r\nContent-Length: 2\r\nX-Forwarded-For: 1.2.3.4\r\n"
      "X-Request-Id: abc\r\nConnection: Host, Content-Length, X-Forwarded-For, X-Request-Id, "
      "X-Forwarded-Proto\r\n\r\nok";
  beast::error_code ec;
  size_t n = put_all(req, text, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(put_all(req, std::string_view(text).substr(n), ec), 2u);  // the body, as framed
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(req.done());
  EXPECT_NE(req.request_id(), "abc");
  EXPECT_EQ(req.request_id().size(), 32u);
  EXPECT_EQ(req.upstream_head(),
            "POST /p HTTP/1.1\r\nHost: front\r\nContent-Length: 2\r\n"
            "X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Request-Id: " +
                req.request_id() + "\r\n\r\n");
}

TEST(RequestHeadTest, ForgetsTheConnectionOptionsOfThePreviousRequest) {
  RequestHead req;
  req.reset("10.0.0.9");
  beast::error_code ec;
  put_all(req, "GET / HTTP/1.1\r\nHost: x\r\nConnection: X-Secret\r\nX-Secret: 1\r\n\r\n", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(has_line(req.upstream_head(), "X-Secret: 1"));
  req.reset("10.0.0.9");
  put_all(req, "GET / HTTP/1.1\r\nHost: x\r\nX-Secret: 2\r\n\r\n", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(has_line(req.upstream_head(), "X-Secret: 2"));
}

// Reads a whole response through `res` as a session does; returns what the client gets.
std::string relay_all(ResponseHead& res, std::string_view text, bool& keep, bool close_at_end,
                      beast::error_code& ec) {
  size_t n = res.put(asio::buffer(text.data(), text.size()), ec);
  if (ec) {
    return {};
  }
  res.finish_head(keep, "rid");
  std::vector<asio::const_buffer> iov;
  iov.emplace_back(res.client_head().data(), res.client_head().size());
  std::string_view rest = text.substr(n);
  if (!res.done() && !rest.empty()) {
    n = res.relay(asio::buffer(rest.data(), rest.size()), iov, ec);
    if (ec) {
      return {};
    }
  }
  if (!res.done() && close_at_end) {
    res.relay_eof(iov, ec);
  }
  return flatten(iov);
}

TEST(ResponseHeadTest, RelaysAContentLengthBodyWithTheRewrittenHead) {
  ResponseHead res;
  res.reset(11, false);
  bool keep = true;
  beast::error_code ec;
  std::string out = relay_all(res,
                              "HTTP/1.1 200 OK\r\nServer: s\r\nConnection: keep-alive\r\n"
                              "Keep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nhello",
                              keep, false, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(res.done());
  EXPECT_TRUE(keep);
  EXPECT_TRUE(res.backend_keep_alive());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.framing(), Framing::as_received);
  EXPECT_EQ(res.body_bytes(), 5u);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 5\r\nX-Request-Id: rid\r\n\r\n"
            "hello");
}

TEST(ResponseHeadTest, KeepsTheBackendsRequestIdAndSaysCloseWhenNotKeeping) {
  ResponseHead res;
  res.reset(11, false);
  bool keep = false;
  beast::error_code ec;
  std::string out =
      relay_all(res, "HTTP/1.1 404 Not Found\r\nx-request-id: own\r\nContent-Length: 0\r\n\r\n",
                keep, false, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\nx-request-id: own\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n");
}

// The backend's hop-by-hop fields are its business with the proxy, not the client's; its own
// X-Request-Id named there gives way to the proxy's.
TEST(ResponseHeadTest, DropsTheFieldsTheBackendsConnectionNames) {
  ResponseHead res;
  res.reset(11, false);
  bool keep = true;
  beast::error_code ec;
  std::string out = relay_all(res,
                              "HTTP/1.1 200 OK\r\nX-Internal: 1\r\nConnection: X-Internal, "
                              "keep-alive\r\nContent-Length: 2\r\nX-Request-Id: own\r\n"
                              "Connection: x-request-id, Content-Length\r\n\r\nok",
                              keep, false, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(res.done());
  EXPECT_TRUE(res.backend_keep_alive());
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Request-Id: rid\r\n\r\nok");
}

TEST(ResponseHeadTest, RechunksABodyEndedByTheCloseForHttp11Clients) {
  ResponseHead res;
  res.reset(11, false);
  bool keep = true;
  beast::error_code ec;
  std::string out = relay_all(res, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcdefghijklmnopq",
                              keep, true, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(res.backend_keep_alive());
  EXPECT_TRUE(keep);
  EXPECT_EQ(res.framing(), Framing::chunk);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Request-Id: rid\r\n\r\n"
            "11\r\nabcdefghijklmnopq\r\n0\r\n\r\n");
}

TEST(ResponseHeadTest, ClosesInsteadOfChunkingForHttp10Clients) {
  ResponseHead res;
  res.reset(10, false);
  bool keep = true;
  beast::error_code ec;
  std::string out = relay_all(res, "HTTP/1.1 200 OK\r\n\r\nabc", keep, true, ec);
  ASSERT_FALSE(ec);
  EXPECT_FALSE(keep);
  EXPECT_EQ(out, "HTTP/1.0 200 OK\r\nX-Request-Id: rid\r\n\r\nabc");

  res.reset(10, false);
  keep = true;
  out = relay_all(res,
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nA: b\r\n\r\n"
                  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                  keep, false, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(res.done());
  EXPECT_FALSE(keep);
  EXPECT_EQ(res.framing(), Framing::dechunk);
  EXPECT_EQ(out, "HTTP/1.0 200 OK\r\nA: b\r\nX-Request-Id: rid\r\n\r\nabcde");
}

TEST(ResponseHeadTest, SaysKeepAliveToHttp10ClientsItKeeps) {
  ResponseHead res;
  res.reset(10, false);
  bool keep = true;
  beast::error_code ec;
  std::string out =
      relay_all(res, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", keep, false, ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(keep);
  EXPECT_EQ(out,
            "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n"
            "X-Request-Id: rid\r\n\r\nx");
}

TEST(ResponseHeadTest, PassesAChunkedBodyThroughAsReceived) {
  ResponseHead res;
  res.reset(11, false);
  bool keep = true;
  beast::error_code ec;
  std::string body = "3\r\nabc\r\n0\r\n\r\n";
  std::string out = relay_all(res, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
                              keep, false, ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(res.done());
  EXPECT_EQ(res.body_bytes(), 3u);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Request-Id: rid\r\n\r\n" + body);
}

TEST(ResponseHeadTest, HeadAnswersAndNoContentHaveNoBody) {
  ResponseHead res;
  res.reset(11, true);
  bool keep = true;
  beast::error_code ec;
  std::string out =
      relay_all(res, "HTTP/1.1 200 OK\r\nContent-Length: 612\r\n\r\n", keep, false, ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(res.done());
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 612\r\nX-Request-Id: rid\r\n\r\n");

  res.reset(11, false);
  out = relay_all(res, "HTTP/1.1 204 No Content\r\n\r\n", keep, false, ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(res.done());
  EXPECT_TRUE(keep);
  EXPECT_EQ(res.framing(), Framing::as_received);
}

TEST(ResponseHeadTest, SkipsInterimAnswers) {
  ResponseHead res;
  res.reset(11, false);
  std::string text =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  beast::error_code ec;
  EXPECT_EQ(res.put(asio::buffer(text.substr(0, 25)), ec), 25u);
  EXPECT_EQ(ec, http::error::need_more);
  EXPECT_FALSE(res.header_done());
  std::string rest = text.substr(25);
  EXPECT_EQ(res.put(asio::buffer(rest), ec), rest.size());
  ASSERT_FALSE(ec);
  EXPECT_EQ(res.status(), 201);
  EXPECT_EQ(res.client_head().find("100"), std::string::npos);
}

TEST(ResponseHeadTest, ReportsABodyCutShort) {
  ResponseHead res;
  res.reset(11, false);
  bool keep = true;
  beast::error_code ec;
  relay_all(res, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", keep, true, ec);
  EXPECT_EQ(ec, http::error::partial_message);
  EXPECT_EQ(res.body_bytes(), 3u);
}

TEST(ResponseHeadTest, UsesTheStandardReasonWhenTheBackendSentNone) {
  ResponseHead res;
  res.reset(11, false);
  beast::error_code ec;
  std::string text = "HTTP/1.1 503 \r\nContent-Length: 0\r\n\r\n";
  res.put(asio::buffer(text), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.client_head().substr(0, 33), "HTTP/1.1 503 Service Unavailable\r");
}

}  // namespace
}  // namespace ztp::proxy
