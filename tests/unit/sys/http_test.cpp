#include "sys/http.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "support/fake_http_server.hpp"
#include "support/support.hpp"

namespace ztp::sys {
namespace {

using ztp::testing::FakeHttpServer;
using ztp::testing::FakeRequest;
using ztp::testing::FakeResponse;
using namespace std::chrono_literals;

std::string url_of(const FakeHttpServer& server, const std::string& path) {
  return "http://" + server.host() + path;
}

TEST(HttpUrlTest, ResolvesUploadLocationsAsRfc3986Says) {
  const std::string req = "http://127.0.0.1:5000/v2/team/app/blobs/uploads/";
  EXPECT_EQ(resolve_url(req, "/v2/team/app/blobs/uploads/u1?_state=a%3Db").value(),
            "http://127.0.0.1:5000/v2/team/app/blobs/uploads/u1?_state=a%3Db");
  EXPECT_EQ(resolve_url(req, "https://uploads.example.com/x/y?sig=1").value(),
            "https://uploads.example.com/x/y?sig=1");
  EXPECT_EQ(resolve_url(req, "//cdn.example.com/p").value(), "http://cdn.example.com/p");
  EXPECT_EQ(resolve_url(req, "u2").value(), "http://127.0.0.1:5000/v2/team/app/blobs/uploads/u2");
  EXPECT_FALSE(resolve_url("not a url", "/x").ok());
}

TEST(HttpUrlTest, AppendsTheDigestAfterAnExistingQuery) {
  const std::string digest =
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  EXPECT_EQ(append_query("http://h/v2/a/blobs/uploads/u1", "digest", digest).value(),
            "http://h/v2/a/blobs/uploads/u1?digest=sha256%3ae3b0c44298fc1c149afbf4c8996fb92427ae"
            "41e4649b934ca495991b7852b855");
  EXPECT_EQ(append_query("http://h/u1?_state=xyz", "digest", "a b").value(),
            "http://h/u1?_state=xyz&digest=a+b");
}

TEST(HttpUrlTest, EscapesQueryValues) {
  EXPECT_EQ(url_escape("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
}

TEST(HttpSessionTest, SendsTheBodyAndReadsStatusReasonAndHeaders) {
  FakeHttpServer server([](const FakeRequest& r) {
    FakeResponse res;
    res.status = 202;
    res.headers = {{"Location", "/next"}, {"X-Echo", r.method + " " + r.body}};
    return res;
  });
  HttpSession session;
  HttpOptions options;
  HttpRequest req;
  req.method = "PATCH";
  req.url = "http://" + server.host() + "/up";
  req.body = "chunk";
  req.headers = {{"Content-Range", "0-4"}};
  auto res = session.perform(req, options);
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
  FakeHttpServer server([](const FakeRequest&) { return FakeResponse{}; });
  HttpSession session;
  HttpOptions options;
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "GET"}) {
    HttpRequest req;
    req.method = method;
    req.url = "http://" + server.host() + "/v2/";
    ASSERT_TRUE(session.perform(req, options).ok()) << method;
  }
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpSessionTest, RefusesAnAnswerLongerThanExpected) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse res;
    res.body = std::string(1000, 'x');
    return res;
  });
  HttpSession session;
  HttpOptions options;
  HttpRequest req;
  req.url = "http://" + server.host() + "/big";
  req.max_body = 10;
  auto res = session.perform(req, options);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::invalid);
  EXPECT_NE(res.error().message.find("longer than the 10 bytes"), std::string::npos);
}

TEST(HttpSessionTest, ConnectionRefusedIsUnavailable) {
  HttpSession session;
  HttpOptions options;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ztp::testing::free_port()) + "/v2/";
  auto res = session.perform(req, options);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::unavailable);
  EXPECT_EQ(res.error().message, "connection refused");
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
  HttpOptions options;
  options.connect_timeout = 1000ms;
  options.stall = 1s;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/v2/";
  auto res = session.perform(req, options);
  ::close(fd);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, Errc::timeout);
  EXPECT_NE(res.error().message.find("no data moved for 1 s"), std::string::npos)
      << res.error().message;
}

TEST(HttpSessionTest, KeepsTheStartOfALongAnswerWhenAskedToTruncate) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse res;
    res.body = std::string(1000, 'x');
    return res;
  });
  HttpSession session;
  HttpRequest req;
  req.url = url_of(server, "/big");
  req.max_body = 10;
  req.truncate = true;
  auto res = session.perform(req, {});
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->body, std::string(10, 'x'));
  EXPECT_EQ(res->body_bytes, 1000);
}

TEST(HttpSessionTest, StreamsTheAnswerToItsReceiverAndStopsWhenItSaysSo) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse res;
    res.body = std::string(300'000, 'y');
    return res;
  });
  HttpSession session;
  HttpRequest req;
  req.url = url_of(server, "/blob");
  std::string got;
  req.on_body = [&](std::string_view chunk) {
    got += chunk;
    return true;
  };
  auto res = session.perform(req, {});
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(got.size(), 300'000u);
  EXPECT_TRUE(res->body.empty()) << "a streamed body is not kept as well";

  req.on_body = [](std::string_view) { return false; };
  auto stopped = session.exchange(req, {});
  ASSERT_TRUE(std::holds_alternative<HttpFailure>(stopped));
  EXPECT_EQ(std::get<HttpFailure>(stopped).kind, HttpFailure::Kind::stopped);
}

TEST(HttpSessionTest, StreamsAnUploadFromItsSource) {
  FakeHttpServer server([](const FakeRequest& r) {
    FakeResponse res;
    res.body = std::to_string(r.body.size()) + " " + r.body.substr(0, 3);
    return res;
  });
  HttpSession session;
  HttpRequest req;
  req.method = "PUT";
  req.url = url_of(server, "/upload");
  const std::string data(200'000, 'z');
  size_t sent = 0;
  req.upload = [&](char* buffer, size_t capacity) {
    size_t n = std::min(capacity, data.size() - sent);
    std::memcpy(buffer, data.data() + sent, n);
    sent += n;
    return n;
  };
  req.upload_size = static_cast<std::int64_t>(data.size());
  auto res = session.perform(req, {});
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->body, "200000 zzz");
  EXPECT_EQ(server.requests().at(0).header("content-length"), "200000");
}

TEST(HttpSessionTest, ACancelFlagStopsTheTransfer) {
  std::atomic<bool> cancel{true};
  FakeHttpServer server([](const FakeRequest&) { return FakeResponse{}; });
  HttpSession session;
  HttpOptions options;
  options.cancel = &cancel;
  HttpRequest req;
  req.url = url_of(server, "/");
  auto res = session.exchange(req, options);
  ASSERT_TRUE(std::holds_alternative<HttpFailure>(res));
  EXPECT_EQ(std::get<HttpFailure>(res).kind, HttpFailure::Kind::cancelled);
}

TEST(HttpFailureTest, MapsKindsToErrorClasses) {
  EXPECT_EQ((HttpFailure{HttpFailure::Kind::refused, "x"}.error().code), Errc::unavailable);
  EXPECT_EQ((HttpFailure{HttpFailure::Kind::resolve, "x"}.error().code), Errc::unavailable);
  EXPECT_EQ((HttpFailure{HttpFailure::Kind::timeout, "x"}.error().code), Errc::timeout);
  EXPECT_EQ((HttpFailure{HttpFailure::Kind::too_long, "x"}.error().code), Errc::invalid);
  EXPECT_EQ((HttpFailure{HttpFailure::Kind::tls, "x"}.error().message), "x");
}

TEST(HttpRetryTest, RetriesOnlyWhatAnotherAttemptMayChange) {
  auto status = [](long s) {
    HttpResponse r;
    r.status = s;
    return Result<HttpResponse>(r);
  };
  for (long s : {408L, 429L, 500L, 502L, 503L, 504L}) {
    EXPECT_TRUE(worth_retrying(status(s))) << s;
  }
  for (long s : {200L, 201L, 400L, 401L, 403L, 404L, 409L, 501L}) {
    EXPECT_FALSE(worth_retrying(status(s))) << s;
  }
  EXPECT_TRUE(worth_retrying(Result<HttpResponse>(make_error(Errc::unavailable, "reset"))));
  EXPECT_TRUE(worth_retrying(Result<HttpResponse>(make_error(Errc::timeout, "slow"))));
  EXPECT_FALSE(worth_retrying(Result<HttpResponse>(make_error(Errc::invalid, "too long"))));
}

TEST(HttpRetryTest, ReadsRetryAfterAsSecondsOrAnHttpDate) {
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(784'111'777));
  HttpResponse r;
  EXPECT_FALSE(retry_after(r, now));
  r.headers = {{"Retry-After", "120"}};
  EXPECT_EQ(retry_after(r, now), std::chrono::milliseconds(120'000));
  // RFC 9110's example date is 784111777 seconds after the epoch.
  r.headers = {{"retry-after", "Sun, 06 Nov 1994 08:49:47 GMT"}};
  EXPECT_EQ(retry_after(r, now), std::chrono::milliseconds(10'000));
  r.headers = {{"Retry-After", "Sun, 06 Nov 1994 08:49:00 GMT"}};
  EXPECT_EQ(retry_after(r, now), std::chrono::milliseconds(0)) << "a date past is no wait";
  r.headers = {{"Retry-After", "soon"}};
  EXPECT_FALSE(retry_after(r, now));
}

// A Send that answers from a script and records what it was given.
struct ScriptedSend {
  std::vector<Result<HttpResponse>> answers;
  std::vector<HttpRequest> seen;
  size_t next = 0;
  HttpClient::Send fn() {
    return [this](const HttpRequest& req, const HttpOptions&) {
      seen.push_back(req);
      return answers.at(std::min(next++, answers.size() - 1));
    };
  }
};

Result<HttpResponse> answer(long status, std::vector<std::pair<std::string, std::string>> h = {}) {
  HttpResponse r;
  r.status = status;
  r.headers = std::move(h);
  return r;
}

TEST(HttpClientTest, RetriesWithBackoffAndHonoursALongerRetryAfter) {
  ScriptedSend script;
  script.answers = {answer(503), answer(429, {{"Retry-After", "3"}}), answer(200)};
  HttpClient client({}, script.fn());
  client.set_retry(RetryPolicy{5, Backoff{100ms, 2.0, 1s, false}, 60s});
  std::vector<std::chrono::milliseconds> waits;
  client.set_wait([&](std::chrono::milliseconds d) {
    waits.push_back(d);
    return true;
  });
  int attempts = 0;
  HttpRequest req;
  req.url = "http://example.invalid/";
  auto res = client.send(req, &attempts);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(attempts, 3);
  ASSERT_EQ(waits.size(), 2u);
  EXPECT_EQ(waits[0], 100ms);
  EXPECT_EQ(waits[1], 3000ms) << "Retry-After wins over a shorter backoff";
}

TEST(HttpClientTest, GivesUpAfterItsAttemptsAndOnWhatRetryingCannotChange) {
  ScriptedSend script;
  script.answers = {Result<HttpResponse>(make_error(Errc::unavailable, "connection refused"))};
  HttpClient client({}, script.fn());
  client.set_retry(RetryPolicy{3, Backoff{1ms, 2.0, 1ms, false}, 60s});
  client.set_wait([](std::chrono::milliseconds) { return true; });
  HttpRequest req;
  auto res = client.send(req);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(script.seen.size(), 3u);

  ScriptedSend refused;
  refused.answers = {answer(404)};
  HttpClient once({}, refused.fn());
  once.set_retry(RetryPolicy{3, Backoff{1ms, 2.0, 1ms, false}, 60s});
  EXPECT_EQ(once.send(req)->status, 404);
  EXPECT_EQ(refused.seen.size(), 1u);
}

TEST(HttpClientTest, ARetryAfterBeyondTheLimitEndsTheRetriesAndAStoppedWaitToo) {
  ScriptedSend script;
  script.answers = {answer(503, {{"Retry-After", "3600"}}), answer(200)};
  HttpClient client({}, script.fn());
  client.set_retry(RetryPolicy{5, Backoff{1ms, 2.0, 1ms, false}, 60s});
  client.set_wait([](std::chrono::milliseconds) { return true; });
  EXPECT_EQ(client.send(HttpRequest{})->status, 503);
  EXPECT_EQ(script.seen.size(), 1u);

  ScriptedSend again;
  again.answers = {answer(503), answer(200)};
  HttpClient stopping({}, again.fn());
  stopping.set_retry(RetryPolicy{5, Backoff{1ms, 2.0, 1ms, false}, 60s});
  stopping.set_wait([](std::chrono::milliseconds) { return false; });
  EXPECT_EQ(stopping.send(HttpRequest{})->status, 503);
  EXPECT_EQ(again.seen.size(), 1u);
}

TEST(HttpClientTest, SignsEveryAttemptAndASigningErrorEndsTheSend) {
  ScriptedSend script;
  script.answers = {answer(500), answer(200)};
  HttpClient client({}, script.fn());
  client.set_retry(RetryPolicy{2, Backoff{1ms, 2.0, 1ms, false}, 60s});
  client.set_wait([](std::chrono::milliseconds) { return true; });
  int signatures = 0;
  client.set_signer([&](HttpRequest& req) -> Result<void> {
    req.headers.emplace_back("Authorization", "sig-" + std::to_string(++signatures));
    return {};
  });
  ASSERT_EQ(client.send(HttpRequest{})->status, 200);
  ASSERT_EQ(script.seen.size(), 2u);
  EXPECT_EQ(script.seen[0].headers.back().second, "sig-1");
  EXPECT_EQ(script.seen[1].headers.back().second, "sig-2");
  EXPECT_EQ(script.seen[1].headers.size(), 1u) << "each attempt signs the original request";

  client.set_signer(
      [](HttpRequest&) -> Result<void> { return make_error(Errc::invalid, "no credentials"); });
  auto res = client.send(HttpRequest{});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().message, "no credentials");
}

TEST(HttpClientTest, NeverRetriesAStreamedBody) {
  ScriptedSend script;
  script.answers = {answer(503), answer(200)};
  HttpClient client({}, script.fn());
  client.set_retry(RetryPolicy{3, Backoff{1ms, 2.0, 1ms, false}, 60s});
  client.set_wait([](std::chrono::milliseconds) { return true; });
  HttpRequest req;
  req.on_body = [](std::string_view) { return true; };
  EXPECT_EQ(client.send(req)->status, 503);
  EXPECT_EQ(script.seen.size(), 1u);
}

TEST(HttpClientTest, RetriesAgainstARealServerThatRecovers) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const FakeRequest&) {
    FakeResponse res;
    res.status = ++calls < 3 ? 503 : 200;
    res.body = "done";
    return res;
  });
  HttpClient client;
  client.set_retry(RetryPolicy{4, Backoff{1ms, 2.0, 5ms, true}, 60s});
  HttpRequest req;
  req.url = url_of(server, "/flaky");
  int attempts = 0;
  auto res = client.send(req, &attempts);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "done");
  EXPECT_EQ(attempts, 3);
}

TEST(HttpMultiTest, RunsExchangesAtOnceAndCompletesEachOnce) {
  FakeHttpServer server([](const FakeRequest& r) {
    FakeResponse res;
    res.status = r.path == "/missing" ? 404 : 200;
    res.body = r.path;
    return res;
  });
  HttpMulti multi;
  HttpOptions options;
  options.timeout = 5000ms;
  HttpRequest a;
  a.url = url_of(server, "/a");
  HttpRequest b;
  b.url = url_of(server, "/missing");
  HttpRequest c;
  c.url = "http://127.0.0.1:" + std::to_string(ztp::testing::free_port()) + "/";
  multi.start(1, a, options);
  multi.start(2, b, options);
  multi.start(3, c, options);
  std::map<std::uint64_t, HttpMulti::Completion> done;
  for (int i = 0; i < 200 && multi.in_flight() > 0; ++i) {
    for (auto& completion : multi.wait(50ms)) {
      EXPECT_TRUE(done.emplace(completion.id, std::move(completion)).second) << "twice";
    }
  }
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[1].response.status, 200);
  EXPECT_EQ(done[1].response.body, "/a");
  EXPECT_EQ(done[2].response.status, 404);
  ASSERT_TRUE(done[3].failure);
  EXPECT_EQ(done[3].failure->kind, HttpFailure::Kind::refused);
  EXPECT_EQ(done[3].failure->text, "connection refused");
}

}  // namespace
}  // namespace ztp::sys
