// The proxy end to end, with real loopback backends: routing, health, draining, error pages,
// streaming, forwarded headers, persistence, and a takeover under load.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "proxy/admin_client.hpp"
#include "proxy/histogram.hpp"
#include "proxy/proxy.hpp"
#include "proxy/routes.hpp"
#include "proxy/unix_http.hpp"
#include "support/support.hpp"
#include "support/tcp_test_server.hpp"
#include "util/fs.hpp"
#include "util/percentile.hpp"

namespace ztp::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A small HTTP/1.1 server with keep-alive on 127.0.0.1:0, a thread per connection. It answers
// /health (200, or 503 when unhealthy), /slow?ms=N, /headers (the request headers),
// POST /echo (length and checksum of the body), /big?bytes=N, and anything else with its name.
class TestBackend {
 public:
  explicit TestBackend(std::string name) : m_name(std::move(name)) {}

  int port() const { return m_server.port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  const std::string& name() const { return m_name; }
  int requests() const { return m_requests.load(); }
  std::string last_headers() {
    std::lock_guard lock(m_mu);
    return m_last_headers;
  }
  std::atomic<bool> healthy{true};

  // Closes the listener and every connection.
  void stop() { m_server.stop(); }

 private:
  void serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    while (!m_server.stopped()) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      http::read(socket, buffer, parser, ec);
      if (ec) {
        break;
      }
      auto& req = parser.get();
      std::string target(req.target());
      std::string path = target.substr(0, target.find('?'));
      std::string query = target.find('?') == std::string::npos
                              ? std::string()
                              : target.substr(target.find('?') + 1);
      auto number = [&](const std::string& key) {
        auto at = query.find(key + "=");
        return at == std::string::npos ? 0L : std::atol(query.c_str() + at + key.size() + 1);
      };
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "text/plain");
      if (path == "/health") {
        res.result(healthy ? http::status::ok : http::status::service_unavailable);
        res.body() = healthy ? "ok" : "down";
      } else {
        ++m_requests;
        if (path == "/slow") {
          std::this_thread::sleep_for(milliseconds(number("ms")));
          res.body() = m_name;
        } else if (path == "/headers") {
          std::ostringstream out;
          for (const auto& f : req) {
            out << f.name_string() << ": " << f.value() << "\n";
          }
          res.body() = out.str();
          std::lock_guard lock(m_mu);
          m_last_headers = res.body();
        } else if (path == "/echo") {
          uint32_t sum = 0;
          for (unsigned char c : req.body()) {
            sum = sum * 31 + c;
          }
          res.body() = "len=" + std::to_string(req.body().size()) + " sum=" + std::to_string(sum);
        } else if (path == "/big") {
          res.body() = std::string(static_cast<size_t>(number("bytes")), 'x');
        } else {
          res.body() = m_name;
        }
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      if (req.method() == http::verb::head) {
        http::response_serializer<http::string_body> sr{res};
        http::write_header(socket, sr, ec);
      } else {
        http::write(socket, res, ec);
      }
      if (ec || !req.keep_alive()) {
        break;
      }
    }
  }

  std::string m_name;
  std::atomic<int> m_requests{0};
  std::mutex m_mu;
  std::string m_last_headers;
  testing::TcpTestServer m_server{[this](tcp::socket& s) { serve(s); }};
};

// A backend that answers every request head it reads on a connection with the bytes
// `answer(n)` returns for its n-th request overall (request bodies are not read), then closes
// the connection if `close_after`. Health checks (GET /health) get a plain 200. A thread per
// connection.
class ScriptedBackend {
 public:
  ScriptedBackend(std::function<std::string(int)> answer, bool close_after)
      : m_answer(std::move(answer)), m_close_after(close_after) {}

  std::string address() const { return "127.0.0.1:" + std::to_string(m_server.port()); }
  int connections() const { return m_server.connections(); }
  int requests() const { return m_requests; }

 private:
  void serve(tcp::socket& socket) {
    std::string in;
    char buf[4096];
    boost::system::error_code ec;
    while (!m_server.stopped()) {
      size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos) {
        size_t n = socket.read_some(asio::buffer(buf), ec);
        if (ec) {
          return;
        }
        in.append(buf, n);
        continue;
      }
      bool health = in.rfind("GET /health ", 0) == 0;
      in.erase(0, end + 4);
      if (health) {
        asio::write(socket,
                    asio::buffer(std::string_view(
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")),
                    ec);
        return;
      }
      asio::write(socket, asio::buffer(m_answer(m_requests++)), ec);
      if (ec || m_close_after) {
        return;
      }
    }
  }

  std::function<std::string(int)> m_answer;
  bool m_close_after;
  std::atomic<int> m_requests{0};
  testing::TcpTestServer m_server{[this](tcp::socket& s) { serve(s); }};
};

// What the proxy answered on one connection, and how the connection ended.
struct Exchange {
  std::string bytes;
  bool closed = false;  // the proxy closed it cleanly (end of stream, no reset, no timeout)
  std::string error;
};

// Connects to `port`, sends `request` (a send error is not fatal: the answer may be there) and
// reads until the connection ends, for at most 10 s; `after_first` is sent once the first
// bytes arrived.
Exchange exchange_until_close(int port, const std::string& request,
                              const std::string& after_first = {}) {
  Exchange out;
  asio::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) {
    out.error = "connect: " + ec.message();
    return out;
  }
  timeval tv{10, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  boost::system::error_code write_ec;
  asio::write(socket, asio::buffer(request), write_ec);
  char buf[4096];
  bool sent_more = after_first.empty();
  while (true) {
    size_t n = socket.read_some(asio::buffer(buf), ec);
    out.bytes.append(buf, n);
    if (ec) {
      break;
    }
    if (!sent_more && n > 0) {
      sent_more = true;
      asio::write(socket, asio::buffer(after_first), write_ec);
    }
  }
  out.closed = ec == asio::error::eof;
  out.error = ec.message() + (write_ec ? " (sending: " + write_ec.message() + ")" : "");
  return out;
}

// The bytes of exchange_until_close(), or what failed to connect.
std::string raw_exchange(int port, const std::string& request,
                         const std::string& after_first = {}) {
  Exchange ex = exchange_until_close(port, request, after_first);
  return ex.error.rfind("connect: ", 0) == 0 ? ex.error : ex.bytes;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// A blocking keep-alive HTTP client that reconnects when the server says Connection: close.
class Client {
 public:
  explicit Client(int port) : m_port(port), m_socket(m_ioc) {}

  struct Response {
    int status = -1;  // -1: the request failed on the connection
    std::string body;
    std::string request_id;
    std::string error;
  };

  Response request(http::verb verb, const std::string& target, const std::string& body = {},
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    Response out;
    boost::system::error_code ec;
    if (!m_socket.is_open()) {
      m_socket.connect(
          tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(m_port)),
          ec);
      if (ec) {
        out.error = "connect: " + ec.message();
        m_socket.close(ec);
        return out;
      }
      m_buffer.clear();
    }
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "front-door");
    for (const auto& [k, v] : headers) {
      req.set(k, v);
    }
    req.body() = body;
    req.prepare_payload();
    http::write(m_socket, req, ec);
    if (!ec) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      http::read(m_socket, m_buffer, parser, ec);
      if (!ec) {
        out.status = static_cast<int>(parser.get().result_int());
        out.body = parser.get().body();
        out.request_id = std::string(parser.get()["X-Request-Id"]);
        if (!parser.get().keep_alive()) {
          m_socket.close(ec);
        }
        return out;
      }
    }
    out.error = ec.message();
    m_socket.close(ec);
    return out;
  }
  Response get(const std::string& target) { return request(http::verb::get, target); }

 private:
  int m_port;
  asio::io_context m_ioc;
  tcp::socket m_socket;
  beast::flat_buffer m_buffer;
};

// True while `pid` runs (a zombie waiting for its parent counts as gone).
bool process_alive(int pid) {
  if (::kill(pid, 0) != 0) {
    return false;
  }
  auto stat = fs::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) {
    return false;
  }
  auto close = stat->rfind(')');
  return close == std::string::npos || stat->substr(close + 2, 1) != "Z";
}

// The pid the proxy at `admin` reports.
int unix_get_pid(const AdminClient& admin) {
  auto r = unix_http(admin.socket(), "GET", "/v1/ping", "", milliseconds(2000));
  if (!r.ok()) {
    return 0;
  }
  return nlohmann::json::parse(r->body).value("pid", 0);
}

struct SetSpec {
  std::string release;
  int weight;
  std::vector<const TestBackend*> backends;
};

EnvRoutes make_routes(const std::string& env, int port, const std::vector<SetSpec>& sets) {
  EnvRoutes r;
  r.env = env;
  r.listen = "127.0.0.1:" + std::to_string(port);
  r.health.interval = milliseconds(50);
  r.health.timeout = milliseconds(500);
  r.health.healthy_threshold = 1;
  r.health.unhealthy_threshold = 2;
  r.drain_timeout = seconds(10);
  r.upstream_timeout = seconds(10);
  for (const auto& s : sets) {
    ReleaseSet rs;
    rs.release = s.release;
    rs.weight = s.weight;
    for (const auto* b : s.backends) {
      rs.backends.push_back({env + "-" + b->name(), b->address()});
    }
    r.release_sets.push_back(rs);
  }
  return r;
}

std::map<std::string, std::string> states(AdminClient& admin, const std::string& env) {
  std::map<std::string, std::string> out;
  auto h = admin.health(env);
  if (h.ok()) {
    for (const auto& b : *h) {
      out[b.id] = b.state;
    }
  }
  return out;
}

bool all_healthy(AdminClient& admin, const std::string& env, size_t n) {
  auto s = states(admin, env);
  size_t healthy = 0;
  for (const auto& [id, state] : s) {
    healthy += state == "healthy" ? 1 : 0;
  }
  return healthy == n;
}

// An in-process proxy with its own state directory.
struct ProxyFixture : ::testing::Test {
  testing::TempDir dir;
  std::unique_ptr<Proxy> proxy;
  std::unique_ptr<AdminClient> admin;

  void start_proxy() {
    ProxyOptions options;
    options.state_dir = dir.path();
    options.threads = 2;
    proxy = std::make_unique<Proxy>(options);
    auto started = proxy->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    admin = std::make_unique<AdminClient>(AdminClient::socket_path(dir.path()));
  }
  void stop_proxy() {
    if (proxy) {
      proxy->request_shutdown();
      proxy->wait();
      proxy.reset();
    }
  }
  void TearDown() override { stop_proxy(); }

  // Starts the proxy with environment dev on a free `port`, all of it to `backend`, and waits
  // until the backend is healthy.
  void serve_dev(const TestBackend& backend, int& port) {
    start_proxy();
    port = testing::free_port();
    put(make_routes("dev", port, {{"1", 100, {&backend}}}));
    ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  }

  void put(const EnvRoutes& routes) {
    auto r = admin->put_env(routes);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
};

TEST_F(ProxyFixture, RoutesByWeightEndToEnd) {
  start_proxy();
  TestBackend a("a");
  TestBackend b("b");
  int port = testing::free_port();
  put(make_routes("dev", port, {{"1", 80, {&a}}, {"2", 20, {&b}}}));
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 2); }));
  Client client(port);
  std::map<std::string, int> counts;
  for (int i = 0; i < 1000; ++i) {
    auto r = client.get("/");
    ASSERT_EQ(r.status, 200) << r.error;
    counts[r.body]++;
  }
  EXPECT_NEAR(counts["a"], 800, 10);
  EXPECT_NEAR(counts["b"], 200, 10);

  // A request is counted just after its answer is written: the last one may trail the client.
  Result<EnvStats> stats = make_error(Errc::internal, "not read");
  testing::wait_until([&] {
    stats = admin->stats("dev");
    return stats.ok() && stats->releases.size() == 2 &&
           stats->releases[0].requests + stats->releases[1].requests == 1000u;
  });
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  ASSERT_EQ(stats->releases.size(), 2u);
  EXPECT_EQ(stats->releases[0].release, "1");
  EXPECT_EQ(stats->releases[0].requests + stats->releases[1].requests, 1000u);
  EXPECT_EQ(stats->releases[0].status_2xx, static_cast<uint64_t>(counts["a"]));
  EXPECT_GT(stats->releases[0].p50_ms, 0);
  // The answer carries the bucket bounds with the counts: percentiles come from it alone.
  const ReleaseCounters& first = stats->releases[0];
  ASSERT_EQ(first.bucket_bounds_ms.size(), k_latency_buckets);
  ASSERT_EQ(first.bucket_counts.size(), k_latency_buckets);
  for (size_t i = 0; i < k_latency_buckets; ++i) {
    EXPECT_EQ(first.bucket_bounds_ms[i], bucket_upper_ms(i)) << i;
  }
  uint64_t counted = 0;
  for (uint64_t c : first.bucket_counts) {
    counted += c;
  }
  EXPECT_EQ(counted, static_cast<uint64_t>(counts["a"]));
  EXPECT_NEAR(bucket_percentile(first.bucket_bounds_ms, first.bucket_counts, 0.5), first.p50_ms,
              0.001);
  EXPECT_NEAR(bucket_percentile(first.bucket_bounds_ms, first.bucket_counts, 0.99), first.p99_ms,
              0.001);
}

TEST_F(ProxyFixture, UnhealthyBackendGetsNothing) {
  start_proxy();
  TestBackend good("good");
  TestBackend bad("bad");
  bad.healthy = false;
  int port = testing::free_port();
  put(make_routes("dev", port, {{"1", 100, {&good, &bad}}}));
  ASSERT_TRUE(testing::wait_until([&] {
    auto s = states(*admin, "dev");
    return s["dev-good"] == "healthy" && s["dev-bad"] == "unhealthy";
  }));
  Client client(port);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(client.get("/").body, "good");
  }
  EXPECT_EQ(bad.requests(), 0);
  auto h = admin->health("dev");
  ASSERT_TRUE(h.ok());
  for (const auto& b : *h) {
    if (b.id == "dev-bad") {
      EXPECT_EQ(b.last_error, "status 503");
      EXPECT_GE(b.consecutive_failures, 1);
    }
  }
  // Once it passes its check it takes traffic.
  bad.healthy = true;
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 2); }));
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    seen.insert(client.get("/").body);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"good", "bad"}));
}

TEST_F(ProxyFixture, AnswersServiceUnavailableWhenNothingIsRoutable) {
  start_proxy();
  TestBackend a("a");
  int port = testing::free_port();
  put(make_routes("dev", port, {{"1", 0, {&a}}}));
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  auto r = testing::http_get(port, "/");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("503 Service Unavailable"), std::string::npos);
  EXPECT_FALSE(r.header("x-request-id").empty());
  EXPECT_EQ(a.requests(), 0);
  auto stats = admin->stats("dev");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->unrouted.status_5xx, 1u);
}

TEST_F(ProxyFixture, AnswersBadGatewayAndEjectsADeadBackend) {
  start_proxy();
  auto a = std::make_unique<TestBackend>("a");
  int port = testing::free_port();
  put(make_routes("dev", port, {{"1", 100, {a.get()}}}));
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  ASSERT_EQ(testing::http_get(port, "/").status, 200);
  a->stop();
  auto r = testing::http_get(port, "/");
  // Either this request found it dead (502) or a health check did first (503).
  EXPECT_TRUE(r.status == 502 || r.status == 503) << r.status;
  ASSERT_TRUE(testing::wait_until([&] { return states(*admin, "dev")["dev-a"] == "unhealthy"; }));
  auto h = admin->health("dev");
  ASSERT_TRUE(h.ok());
  EXPECT_NE((*h)[0].last_error.find("refused"), std::string::npos) << (*h)[0].last_error;
}

TEST_F(ProxyFixture, ConnectFailureIsBadGatewayAtOnce) {
  start_proxy();
  TestBackend a("a");
  int port = testing::free_port();
  // Health checks every 10 s: only the request path can notice the backend died.
  auto routes = make_routes("dev", port, {{"1", 100, {&a}}});
  routes.health.interval = seconds(10);
  put(routes);
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  a.stop();
  auto r = testing::http_get(port, "/");
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("502 Bad Gateway"), std::string::npos);
  ASSERT_TRUE(testing::wait_until([&] { return states(*admin, "dev")["dev-a"] == "unhealthy"; }));
  EXPECT_EQ(testing::http_get(port, "/").status, 503);
  auto stats = admin->stats("dev");
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->releases[0].connect_errors, 1u);
}

TEST_F(ProxyFixture, AnswersGatewayTimeoutWhenTheBackendIsTooSlow) {
  start_proxy();
  TestBackend a("a");
  int port = testing::free_port();
  auto routes = make_routes("dev", port, {{"1", 100, {&a}}});
  routes.upstream_timeout = milliseconds(300);
  put(routes);
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  auto r = testing::http_get(port, "/slow?ms=1500");
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find("504 Gateway Timeout"), std::string::npos);
  auto stats = admin->stats("dev");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->releases[0].timeouts, 1u);
  EXPECT_EQ(stats->releases[0].status_5xx, 1u);
}

TEST_F(ProxyFixture, DrainLetsInFlightRequestsFinish) {
  start_proxy();
  TestBackend old_backend("old");
  TestBackend new_backend("new");
  int port = testing::free_port();
  put(make_routes("dev", port, {{"1", 100, {&old_backend}}}));
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));

  testing::HttpResponse slow;
  std::thread in_flight([&] { slow = testing::http_get(port, "/slow?ms=1500"); });
  ASSERT_TRUE(testing::wait_until([&] {
    auto h = admin->health("dev");
    return h.ok() && !h->empty() && (*h)[0].in_flight == 1;
  }));
  put(make_routes("dev", port, {{"2", 100, {&new_backend}}}));
  EXPECT_EQ(states(*admin, "dev")["dev-old"], "draining");
  ASSERT_TRUE(testing::wait_until([&] { return states(*admin, "dev")["dev-new"] == "healthy"; }));
  EXPECT_EQ(testing::http_get(port, "/").body, "new");
  in_flight.join();
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(slow.body, "old");
  ASSERT_TRUE(testing::wait_until([&] { return states(*admin, "dev")["dev-old"] == "drained"; }));
  EXPECT_EQ(old_backend.requests(), 1);
}

TEST_F(ProxyFixture, KeepsHealthOfABackendThatStays) {
  start_proxy();
  TestBackend a("a");
  TestBackend b("b");
  int port = testing::free_port();
  auto routes = make_routes("dev", port, {{"1", 100, {&a}}});
  routes.health.interval = seconds(30);  // one probe at once, then none during the test
  put(routes);
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  routes.release_sets.push_back({"2", 0, {{"dev-b", b.address()}}});
  routes.release_sets[0].weight = 100;
  put(routes);
  // a stays healthy and keeps serving without waiting for a new probe.
  EXPECT_EQ(states(*admin, "dev")["dev-a"], "healthy");
  EXPECT_EQ(testing::http_get(port, "/").body, "a");
}

TEST_F(ProxyFixture, StreamsLargeBodiesBothWays) {
  start_proxy();
  TestBackend a("a");
  int port = testing::free_port();
  put(make_routes("dev", port, {{"1", 100, {&a}}}));
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  std::string body(24 * 1024 * 1024, '\0');
  uint32_t sum = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<char>('a' + (i * 7) % 26);
    sum = sum * 31 + static_cast<unsigned char>(body[i]);
  }
  Client client(port);
  auto r = client.request(http::verb::post, "/echo", body);
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "len=" + std::to_string(body.size()) + " sum=" + std::to_string(sum));
  auto big = client.get("/big?bytes=16777216");
  ASSERT_EQ(big.status, 200) << big.error;
  EXPECT_EQ(big.body.size(), 16777216u);
  // The connection is still usable afterwards.
  EXPECT_EQ(client.get("/").body, "a");
}

TEST_F(ProxyFixture, RetriesAnIdempotentRequestWhenAPooledConnectionWasClosed) {
  start_proxy();
  // Answers with keep-alive, then closes every connection anyway: each pooled connection is
  // stale when the next request takes it.
  ScriptedBackend a(
      [](int n) {
        std::string body = "r" + std::to_string(n);
        return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
               body;
      },
      true);
  int port = testing::free_port();
  auto routes = make_routes("dev", port, {});
  routes.release_sets.push_back({"1", 100, {{"dev-a", a.address()}}});
  put(routes);
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  Client client(port);
  for (int i = 0; i < 5; ++i) {
    auto r = client.get("/");
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    EXPECT_EQ(r.body.substr(0, 1), "r");
  }
  // A stale connection is not the backend's fault: it stays in rotation.
  EXPECT_EQ(states(*admin, "dev")["dev-a"], "healthy");
}

TEST_F(ProxyFixture, RechunksABodyEndedByTheCloseAndKeepsTheClient) {
  start_proxy();
  ScriptedBackend a(
      [](int) { return std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close"); },
      true);
  int port = testing::free_port();
  auto routes = make_routes("dev", port, {});
  routes.release_sets.push_back({"1", 100, {{"dev-a", a.address()}}});
  put(routes);
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  std::string out = raw_exchange(port,
                                 "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  // Both pipelined requests answered, in order, on one connection, the first re-chunked.
  EXPECT_EQ(count_of(out, "HTTP/1.1 200 OK\r\n"), 2u) << out;
  EXPECT_EQ(count_of(out, "Transfer-Encoding: chunked\r\n"), 2u) << out;
  EXPECT_EQ(count_of(out, "\r\nb\r\nuntil-close\r\n0\r\n\r\n"), 2u) << out;
  EXPECT_EQ(count_of(out, "Connection: close\r\n"), 1u) << out;

  // An HTTP/1.0 client reads until the proxy closes instead.
  out = raw_exchange(port, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(out.substr(0, 17), "HTTP/1.0 200 OK\r\n") << out;
  EXPECT_EQ(out.substr(out.size() - 15), "\r\n\r\nuntil-close") << out;
}

TEST_F(ProxyFixture, AnswersExpectContinueAndHeadRequests) {
  start_proxy();
  TestBackend a("a");
  int port = testing::free_port();
  put(make_routes("dev", port, {{"1", 100, {&a}}}));
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  std::string out = raw_exchange(port,
                                 "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                 "Content-Length: 5\r\nConnection: close\r\n\r\n",
                                 "hello");
  EXPECT_EQ(out.substr(0, 25), "HTTP/1.1 100 Continue\r\n\r\n") << out;
  EXPECT_NE(out.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("len=5 sum="), std::string::npos) << out;

  out = raw_exchange(port,
                     "HEAD /big?bytes=1000 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  // The HEAD answer keeps its Content-Length and has no body: the next answer follows it.
  size_t second = out.find("HTTP/1.1 200 OK", 1);
  ASSERT_NE(second, std::string::npos) << out;
  EXPECT_NE(out.find("Content-Length: 1000\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(second - 4, 4), "\r\n\r\n") << out;
  EXPECT_EQ(out.substr(out.size() - 1), "a") << out;
}

TEST_F(ProxyFixture, CutsAResponseWhoseBackendStallsMidBody) {
  start_proxy();
  ScriptedBackend a(
      [](int) { return std::string("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"); }, false);
  int port = testing::free_port();
  auto routes = make_routes("dev", port, {});
  routes.health.interval = seconds(30);
  routes.upstream_timeout = milliseconds(300);
  routes.release_sets.push_back({"1", 100, {{"dev-a", a.address()}}});
  put(routes);
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  std::string out = raw_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  // The head and the first bytes went out; the rest never came: the connection is cut.
  EXPECT_EQ(out.substr(0, 17), "HTTP/1.1 200 OK\r\n") << out;
  EXPECT_EQ(out.substr(out.size() - 7), "\r\n\r\nabc") << out;
  Result<EnvStats> stats = make_error(Errc::internal, "not read");
  ASSERT_TRUE(testing::wait_until([&] {
    stats = admin->stats("dev");
    return stats.ok() && !stats->releases.empty() && stats->releases[0].timeouts == 1u;
  }));
}

TEST_F(ProxyFixture, ForwardsClientAndRequestIdHeaders) {
  start_proxy();
  TestBackend a("a");
  int port = testing::free_port();
  put(make_routes("dev", port, {{"1", 100, {&a}}}));
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  auto r = testing::http_get(port, "/headers");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("X-Forwarded-For: 127.0.0.1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Forwarded-Proto: http\n"), std::string::npos) << r.body;
  std::string rid = r.header("x-request-id");
  ASSERT_EQ(rid.size(), 32u);
  EXPECT_NE(r.body.find("X-Request-Id: " + rid + "\n"), std::string::npos) << r.body;

  auto kept = testing::http_get(port, "/headers",
                                {{"X-Request-Id", "abc-123"}, {"X-Forwarded-For", "10.0.0.1"}});
  EXPECT_NE(kept.body.find("X-Request-Id: abc-123\n"), std::string::npos) << kept.body;
  EXPECT_NE(kept.body.find("X-Forwarded-For: 10.0.0.1, 127.0.0.1\n"), std::string::npos)
      << kept.body;
  EXPECT_EQ(kept.header("x-request-id"), "abc-123");

  // The access log gets a line per request (flushed by a timer of each worker thread, so the
  // two lines may come in either order).
  auto log_path = dir.path() / "access-dev.log";
  ASSERT_TRUE(testing::wait_until([&] {
    auto text = fs::read_file(log_path);
    return text.ok() && text->find("abc-123") != std::string::npos &&
           text->find(rid) != std::string::npos;
  })) << fs::read_file(log_path).value_or("");
  auto text = fs::read_file(log_path);
  std::istringstream lines(*text);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["env"], "dev");
    EXPECT_EQ(j["release"], "1");
    EXPECT_EQ(j["backend"], "dev-a");
    EXPECT_EQ(j["method"], "GET");
    EXPECT_EQ(j["path"], "/headers");
    EXPECT_EQ(j["status"], 200);
    EXPECT_EQ(j["client"], "127.0.0.1");
    EXPECT_TRUE(j.contains("ts") && j.contains("bytes") && j.contains("duration_ms"));
    ++n;
  }
  EXPECT_EQ(n, 2);
}

// RFC 9110 section 7.6.1: what the client's Connection header names is for the proxy alone.
// Three pipelined requests on one connection: the named field before the Connection header,
// after it, and in a request that names none (it goes through then).
TEST_F(ProxyFixture, NeverForwardsTheFieldsTheClientsConnectionHeaderNames) {
  TestBackend a("a");
  int port = 0;
  ASSERT_NO_FATAL_FAILURE(serve_dev(a, port));
  Exchange ex = exchange_until_close(
      port,
      "GET /headers HTTP/1.1\r\nHost: x\r\nX-Secret: one\r\nConnection: keep-alive, X-Secret\r\n"
      "X-Kept: yes\r\n\r\n"
      "GET /headers HTTP/1.1\r\nHost: x\r\nconnection: x-secret\r\nx-secret: two\r\n\r\n"
      "GET /headers HTTP/1.1\r\nHost: x\r\nX-Secret: three\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(ex.closed) << ex.error;
  EXPECT_EQ(count_of(ex.bytes, "HTTP/1.1 200 OK\r\n"), 3u) << ex.bytes;
  EXPECT_EQ(count_of(ex.bytes, "X-Kept: yes\n"), 1u) << ex.bytes;
  EXPECT_EQ(ex.bytes.find("one"), std::string::npos) << ex.bytes;
  EXPECT_EQ(ex.bytes.find("two"), std::string::npos) << ex.bytes;
  EXPECT_NE(ex.bytes.find("X-Secret: three\n"), std::string::npos) << ex.bytes;
  EXPECT_EQ(count_of(ex.bytes, "onnection: "), 1u) << ex.bytes;  // the proxy's close, no more
}

// And what the backend's Connection header names is between the backend and the proxy.
TEST_F(ProxyFixture, NeverRelaysTheFieldsTheBackendsConnectionHeaderNames) {
  start_proxy();
  ScriptedBackend a(
      [](int) {
        return std::string(
            "HTTP/1.1 200 OK\r\nX-Internal: 1\r\nConnection: X-Internal\r\nX-Public: 2\r\n"
            "Content-Length: 2\r\n\r\nok");
      },
      false);
  int port = testing::free_port();
  auto routes = make_routes("dev", port, {});
  routes.release_sets.push_back({"1", 100, {{"dev-a", a.address()}}});
  put(routes);
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  Exchange ex =
      exchange_until_close(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(ex.closed) << ex.error;
  EXPECT_EQ(ex.bytes.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ex.bytes;
  EXPECT_NE(ex.bytes.find("\r\nX-Public: 2\r\n"), std::string::npos) << ex.bytes;
  EXPECT_EQ(ex.bytes.find("X-Internal"), std::string::npos) << ex.bytes;
}

TEST_F(ProxyFixture, RefusesAmbiguousFramingHostAndConnectAndClosesWithoutForwarding) {
  TestBackend a("a");
  int port = 0;
  ASSERT_NO_FATAL_FAILURE(serve_dev(a, port));
  // Each body is a request of its own: a proxy that misreads the framing forwards it too.
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string chunk = fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", smuggled.size(), smuggled);
  struct Case {
    std::string head;
    std::string status;
  };
  const std::vector<Case> cases = {
      {"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n", "400"},
      {"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n", "501"},
      {"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n", "501"},
      {"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n", "400"},
      {"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n", "400"},
      {"POST /p HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n", "400"},
      {"GET /p HTTP/1.1\r\n", "400"},
      {"GET /p HTTP/1.1\r\nHost: x\r\nHost: y\r\n", "400"},
      {"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n", "405"},
  };
  for (const auto& c : cases) {
    Exchange ex = exchange_until_close(port, c.head + "\r\n" + chunk + smuggled);
    EXPECT_EQ(ex.bytes.substr(0, 13), "HTTP/1.1 " + c.status + " ") << c.head << ex.bytes;
    EXPECT_EQ(count_of(ex.bytes, "HTTP/1.1 "), 1u) << c.head << ex.bytes;
    EXPECT_NE(ex.bytes.find("Connection: close\r\n"), std::string::npos) << c.head << ex.bytes;
    EXPECT_TRUE(ex.closed) << c.head << ex.error;
  }
  // Nothing reached the backend; a sound request still does.
  EXPECT_EQ(a.requests(), 0);
  EXPECT_EQ(testing::http_get(port, "/").body, "a");
  EXPECT_EQ(a.requests(), 1);
}

TEST_F(ProxyFixture, ReadsTheRestOfARefusedRequestBeforeClosing) {
  TestBackend a("a");
  int port = 0;
  ASSERT_NO_FATAL_FAILURE(serve_dev(a, port));
  // A body far larger than one read: closing with it unread would reset the connection.
  Exchange ex =
      exchange_until_close(port, "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" +
                                     std::string(512 * 1024, 'x'));
  EXPECT_EQ(ex.bytes.substr(0, 13), "HTTP/1.1 501 ") << ex.bytes;
  EXPECT_TRUE(ex.closed) << ex.error;
  EXPECT_EQ(a.requests(), 0);
}

TEST_F(ProxyFixture, GivesAnHttp10RequestWithoutHostTheListenersAuthority) {
  TestBackend a("a");
  int port = 0;
  ASSERT_NO_FATAL_FAILURE(serve_dev(a, port));
  Exchange ex = exchange_until_close(port, "GET /headers HTTP/1.0\r\n\r\n");
  EXPECT_EQ(ex.bytes.substr(0, 17), "HTTP/1.0 200 OK\r\n") << ex.bytes;
  EXPECT_NE(ex.bytes.find("\nHost: 127.0.0.1:" + std::to_string(port) + "\n"), std::string::npos)
      << ex.bytes;
}

TEST_F(ProxyFixture, RejectsMalformedRoutesWithAMessage) {
  start_proxy();
  auto routes = make_routes("dev", testing::free_port(), {});
  routes.release_sets.push_back({"1", 100, {{"x", "127.0.0.1:1"}, {"y", "nowhere"}}});
  auto r = admin->put_env(routes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid);
  EXPECT_EQ(r.error().message, "release_sets[0].backends[1].address: not host:port");
  auto missing = admin->get_env("dev");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_F(ProxyFixture, PutIsIdempotentAndListsEnvironments) {
  start_proxy();
  TestBackend a("a");
  auto routes = make_routes("dev", testing::free_port(), {{"1", 100, {&a}}});
  put(routes);
  put(routes);
  auto got = admin->get_env("dev");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, routes);
  auto all = admin->list_envs();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0], routes);
  ASSERT_TRUE(admin->delete_env("dev").ok());
  EXPECT_EQ(admin->get_env("dev").error().code, Errc::not_found);
  int port = std::stoi(routes.listen.substr(routes.listen.rfind(':') + 1));
  EXPECT_TRUE(testing::wait_until([&] { return testing::http_get(port, "/").status == -1; }));
}

TEST_F(ProxyFixture, ChangingListenRebinds) {
  start_proxy();
  TestBackend a("a");
  int first = testing::free_port();
  put(make_routes("dev", first, {{"1", 100, {&a}}}));
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  int second = testing::free_port();
  put(make_routes("dev", second, {{"1", 100, {&a}}}));
  EXPECT_EQ(testing::http_get(second, "/").body, "a");
  ASSERT_TRUE(testing::wait_until([&] { return testing::http_get(first, "/").status == -1; }));
}

TEST_F(ProxyFixture, RestoresRoutesAfterARestart) {
  start_proxy();
  TestBackend a("a");
  int port = testing::free_port();
  auto routes = make_routes("dev", port, {{"1", 100, {&a}}});
  put(routes);
  stop_proxy();
  auto saved = fs::read_file(dir.path() / "routes.json");
  ASSERT_TRUE(saved.ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "routes.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  start_proxy();
  auto got = admin->get_env("dev");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, routes);
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(*admin, "dev", 1); }));
  EXPECT_EQ(testing::http_get(port, "/").body, "a");
  ASSERT_EQ(::stat(AdminClient::socket_path(dir.path()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ProxyAdminClientTest, ReportsUnavailableWhenNoProxyAnswers) {
  testing::TempDir dir;
  AdminClient admin(AdminClient::socket_path(dir.path()), milliseconds(500));
  auto r = admin.ping();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_NE(r.error().message.find("admin.sock"), std::string::npos);
}

// Stops a detached proxy of `dir` when the test ends, however it ends.
struct DetachedProxyGuard {
  const testing::TempDir& dir;
  ~DetachedProxyGuard() {
    AdminClient admin(AdminClient::socket_path(dir.path()), seconds(2));
    (void)admin.shutdown();
    testing::wait_until([&] { return !admin.ping().ok(); }, seconds(20));
    auto pid = fs::read_file(dir.path() / "proxy.pid");
    if (pid.ok() && std::atoi(pid->c_str()) > 0 && process_alive(std::atoi(pid->c_str()))) {
      ::kill(std::atoi(pid->c_str()), SIGKILL);
    }
  }
};

// Keep-alive clients at full speed until stopped (bounded in requests); joined on destruction.
struct Load {
  explicit Load(int port, int clients = 2) {
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([this, port] {
        Client client(port);
        for (int i = 0; i < 200000 && !stop; ++i) {
          auto r = client.get("/");
          if (r.status == 200) {
            ++ok;
            continue;
          }
          ++failed;
          std::lock_guard lock(mu);
          if (first_error.empty()) {
            first_error = std::to_string(r.status) + " " + r.error + " " + r.body;
          }
        }
      });
    }
  }
  ~Load() { finish(); }
  void finish() {
    stop = true;
    for (auto& t : threads) {
      if (t.joinable()) {
        t.join();
      }
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::mutex mu;
  std::string first_error;
  std::vector<std::thread> threads;
};

TEST(ProxyBinaryTest, TakeoverUnderLoadDropsNothing) {
  testing::TempDir dir;
  DetachedProxyGuard guard{dir};
  std::string state = dir.path().string();
  auto first = testing::run_ztp({"proxy", "--state-dir", state, "--threads", "2", "--detach"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  auto pid_of = [&] {
    auto text = fs::read_file(dir.path() / "proxy.pid");
    return text.ok() ? std::atoi(text->c_str()) : 0;
  };
  int old_pid = pid_of();
  ASSERT_GT(old_pid, 0);
  struct stat st {};
  ASSERT_EQ(::stat(AdminClient::socket_path(dir.path()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  AdminClient admin(AdminClient::socket_path(dir.path()));

  TestBackend a("a");
  TestBackend b("b");
  int port = testing::free_port();
  ASSERT_TRUE(admin.put_env(make_routes("dev", port, {{"1", 50, {&a}}, {"2", 50, {&b}}})).ok());
  ASSERT_TRUE(testing::wait_until([&] { return all_healthy(admin, "dev", 2); }));

  Load load(port);
  ASSERT_TRUE(testing::wait_until([&] { return load.ok > 500; }));
  auto second =
      testing::run_ztp({"proxy", "--state-dir", state, "--threads", "2", "--detach", "--takeover"});
  int before = load.ok;
  EXPECT_TRUE(testing::wait_until([&] { return load.ok > before + 500; }));
  load.finish();
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(load.failed, 0) << load.first_error;
  EXPECT_GT(load.ok, 1000);

  int new_pid = pid_of();
  EXPECT_NE(new_pid, old_pid);
  EXPECT_TRUE(testing::wait_until([&] { return !process_alive(old_pid); }))
      << "the old proxy still runs";
  auto routes = admin.get_env("dev");
  ASSERT_TRUE(routes.ok()) << routes.error().message;
  EXPECT_EQ(routes->release_sets.size(), 2u);
  auto ping = unix_get_pid(admin);
  EXPECT_EQ(ping, new_pid);
}

TEST(ProxyBinaryTest, RefusesASecondProxyWithoutTakeover) {
  testing::TempDir dir;
  std::string state = dir.path().string();
  DetachedProxyGuard guard{dir};
  auto first = testing::run_ztp({"proxy", "--state-dir", state, "--threads", "1", "--detach"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  auto second = testing::run_ztp({"proxy", "--state-dir", state, "--threads", "1", "--detach"});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("--takeover"), std::string::npos) << second.err;
  AdminClient admin(AdminClient::socket_path(dir.path()));
  EXPECT_TRUE(admin.ping().ok());
}

}  // namespace
}  // namespace ztp::proxy
