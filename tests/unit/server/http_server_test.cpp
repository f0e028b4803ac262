#include "server/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <mutex>
#include <thread>

#include "support/support.hpp"

namespace ztp::server {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// One client connection that sends raw bytes and reads whole responses.
class Client {
 public:
  explicit Client(int port) : m_socket(m_ioc) {
    m_socket.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  }
  void send(const std::string& bytes) { asio::write(m_socket, asio::buffer(bytes)); }
  http::response<http::string_body> read() {
    http::response<http::string_body> res;
    http::read(m_socket, m_buffer, res);
    return res;
  }
  // Everything until the server closes the connection.
  std::string read_to_end() {
    std::string out(static_cast<const char*>(m_buffer.data().data()), m_buffer.size());
    boost::system::error_code ec;
    char chunk[4096];
    for (;;) {
      size_t n = m_socket.read_some(asio::buffer(chunk), ec);
      if (ec) {
        break;
      }
      out.append(chunk, n);
    }
    return out;
  }

 private:
  asio::io_context m_ioc;
  tcp::socket m_socket;
  boost::beast::flat_buffer m_buffer;
};

HttpServer::Options loopback() {
  HttpServer::Options o;
  o.listen = "127.0.0.1:0";
  o.workers = 2;
  o.max_body_bytes = 1024;
  o.stream_interval = std::chrono::milliseconds(5);
  return o;
}

// Yields the given chunks, then ends (or never ends when `endless`).
class ChunkStream : public BodyStream {
 public:
  ChunkStream(std::vector<std::string> chunks, bool endless)
      : m_chunks(std::move(chunks)), m_endless(endless) {}
  std::optional<std::string> next() override {
    ++calls;
    if (m_next < m_chunks.size()) {
      return m_chunks[m_next++];
    }
    if (m_endless) {
      return std::string();
    }
    return std::nullopt;
  }
  std::atomic<int> calls{0};

 private:
  std::vector<std::string> m_chunks;
  size_t m_next = 0;
  bool m_endless;
};

TEST(HttpServerTest, ParsesRequestsAndKeepsConnectionsAlive) {
  std::mutex mu;
  std::vector<Request> seen;
  auto server = HttpServer::start(loopback(), [&](const Request& req) {
    std::lock_guard lock(mu);
    seen.push_back(req);
    return json_response(200, {{"path", req.path}});
  });
  ASSERT_TRUE(server.ok()) << server.error().message;
  Client client((*server)->port());
  client.send(
      "GET /api/v1/runs%2F1?limit=5&name=a+b%21 HTTP/1.1\r\nHost: x\r\nX-Thing: Yes\r\n\r\n");
  auto first = client.read();
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(first[http::field::content_type], "application/json");
  EXPECT_TRUE(first.keep_alive());
  client.send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody");
  auto second = client.read();
  EXPECT_EQ(second.result_int(), 200);
  EXPECT_EQ(second.body(), R"({"path":"/b"})");

  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].path, "/api/v1/runs/1");
  EXPECT_EQ(seen[0].query.at("limit"), "5");
  EXPECT_EQ(seen[0].query.at("name"), "a b!");
  EXPECT_EQ(seen[0].header("x-thing"), "Yes");
  EXPECT_EQ(seen[0].remote.rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].body, "body");
}

TEST(HttpServerTest, RefusesBodiesOverTheLimit) {
  bool called = false;
  auto server = HttpServer::start(loopback(), [&](const Request&) {
    called = true;
    return json_response(200, {});
  });
  ASSERT_TRUE(server.ok());
  Client client((*server)->port());
  client.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" +
              std::string(2048, 'a'));
  auto res = client.read();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_NE(res.body().find("larger than 1024 bytes"), std::string::npos);
  EXPECT_FALSE(called);
}

TEST(HttpServerTest, APathMayTakeALargerBodyThanTheRest) {
  auto options = loopback();
  options.body_limits["/big"] = 8192;
  std::atomic<size_t> seen{0};
  auto server = HttpServer::start(options, [&](const Request& req) {
    seen = req.body.size();
    return json_response(200, {});
  });
  ASSERT_TRUE(server.ok());
  Client client((*server)->port());
  client.send("POST /big?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 8192\r\n\r\n" +
              std::string(8192, 'a'));
  EXPECT_EQ(client.read().result_int(), 200);
  EXPECT_EQ(seen, 8192u);

  Client small((*server)->port());
  small.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n");
  auto res = small.read();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_NE(res.body().find("larger than 1024 bytes"), std::string::npos) << res.body();

  Client over((*server)->port());
  over.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 8193\r\n\r\n");
  res = over.read();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_NE(res.body().find("larger than 8192 bytes"), std::string::npos) << res.body();

  // A chunked body is counted as it arrives, against its path's limit.
  Client chunked((*server)->port());
  chunked.send("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; ++i) {
    chunked.send("1000\r\n" + std::string(4096, 'b') + "\r\n");
  }
  res = chunked.read();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_NE(res.body().find("larger than 8192 bytes"), std::string::npos) << res.body();
  EXPECT_EQ(seen, 8192u);
}

TEST(HttpServerTest, AnswersExpectContinueBeforeTheBody) {
  auto server = HttpServer::start(loopback(), [&](const Request& req) {
    return json_response(200, {{"body", req.body}});
  });
  ASSERT_TRUE(server.ok());
  Client client((*server)->port());
  client.send("POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ(client.read().result_int(), 100);
  client.send("body");
  auto res = client.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"body":"body"})");

  // Too large: refused at once, the body never sent.
  Client large((*server)->port());
  large.send("POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4096\r\n\r\n");
  EXPECT_EQ(large.read().result_int(), 413);
}

TEST(HttpServerTest, AClientStillSendingATooLargeBodyReceivesThe413) {
  auto server =
      HttpServer::start(loopback(), [](const Request&) { return json_response(200, {}); });
  ASSERT_TRUE(server.ok());
  constexpr size_t k_size = 32 * 1024 * 1024;
  Client client((*server)->port());
  // Loopback buffers take a few MiB: the rest of the body is still being sent when the 413 is
  // written, and is read and dropped by the server rather than answered with a reset.
  std::thread sender([&client] {
    try {
      client.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(k_size) +
                  "\r\n\r\n" + std::string(k_size, 'a'));
    } catch (const std::exception&) {
      // The server closed after its lingering read.
    }
  });
  auto res = client.read();
  sender.join();
  EXPECT_EQ(res.result_int(), 413);
}

TEST(HttpServerTest, AnswersMalformedRequestsWith400) {
  auto server =
      HttpServer::start(loopback(), [](const Request&) { return json_response(200, {}); });
  ASSERT_TRUE(server.ok());
  Client client((*server)->port());
  client.send("NOT AN HTTP REQUEST\r\n\r\n");
  auto res = client.read();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_NE(res.body().find("malformed"), std::string::npos);
}

TEST(HttpServerTest, TurnsAHandlerExceptionInto500) {
  auto server = HttpServer::start(
      loopback(), [](const Request&) -> Response { throw std::runtime_error("boom"); });
  ASSERT_TRUE(server.ok());
  Client client((*server)->port());
  client.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  auto res = client.read();
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_NE(res.body().find("boom"), std::string::npos);
}

TEST(HttpServerTest, WritesAStreamUntilItEnds) {
  auto server = HttpServer::start(loopback(), [](const Request&) {
    Response res;
    res.content_type = "text/event-stream";
    res.stream =
        std::make_shared<ChunkStream>(std::vector<std::string>{"one\n", "", "two\n"}, false);
    return res;
  });
  ASSERT_TRUE(server.ok());
  Client client((*server)->port());
  client.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string all = client.read_to_end();
  EXPECT_EQ(all.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << all;
  EXPECT_NE(all.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE(all.find("\r\n\r\none\ntwo\n"), std::string::npos) << all;
}

TEST(HttpServerTest, StopEndsAnEndlessStream) {
  auto stream = std::make_shared<ChunkStream>(std::vector<std::string>{"hello\n"}, true);
  auto server = HttpServer::start(loopback(), [stream](const Request&) {
    Response res;
    res.content_type = "text/event-stream";
    res.stream = stream;
    return res;
  });
  ASSERT_TRUE(server.ok());
  Client client((*server)->port());
  client.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(testing::wait_until([&] { return stream->calls > 3; }));
  (*server)->stop();
  std::string all = client.read_to_end();
  EXPECT_NE(all.find("hello\n"), std::string::npos);
}

TEST(HttpServerTest, SaysWhenTheAddressIsInUse) {
  auto first = HttpServer::start(loopback(), [](const Request&) { return json_response(200, {}); });
  ASSERT_TRUE(first.ok());
  auto options = loopback();
  options.listen = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = HttpServer::start(options, [](const Request&) { return json_response(200, {}); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
  EXPECT_NE(second.error().message.find("--listen"), std::string::npos);
}

TEST(HttpServerTest, RefusesAMalformedListenAddress) {
  auto options = loopback();
  options.listen = "no-port";
  auto server = HttpServer::start(options, [](const Request&) { return json_response(200, {}); });
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code, Errc::invalid);
}

TEST(ParseTargetTest, DecodesPathAndQuery) {
  std::string path;
  std::map<std::string, std::string> query;
  parse_target("/a%20b/c?x=1&y=%2Fz&flag&bad=%zz", path, query);
  EXPECT_EQ(path, "/a b/c");
  EXPECT_EQ(query.at("x"), "1");
  EXPECT_EQ(query.at("y"), "/z");
  EXPECT_EQ(query.at("flag"), "");
  EXPECT_EQ(query.at("bad"), "%zz");
}

}  // namespace
}  // namespace ztp::server
