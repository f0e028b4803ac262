// Maintenance mode: the page, its JSON, and an in-process proxy that answers it in front of a
// live backend, keeps it across route changes and a restart, and routes again once cleared.
#include "proxy/maintenance.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "proxy/admin_client.hpp"
#include "proxy/proxy.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

TEST(MaintenanceJson, DefaultsAndRoundTrip) {
  auto m = maintenance_from_text("{}");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->retry_after_s, 300);
  EXPECT_EQ(m->message, "");
  Maintenance set{"Back at noon", 120, 1700000000000};
  auto back = maintenance_from_json(to_json(set));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, set);
}

TEST(MaintenanceJson, RejectsWhatItCannotServe) {
  auto unknown = maintenance_from_text(R"({"retry":5})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "maintenance.retry: unknown field");
  auto negative = maintenance_from_text(R"({"retry_after_s":-1})");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("maintenance.retry_after_s"), std::string::npos);
  EXPECT_FALSE(maintenance_from_text(R"({"message":7})").ok());
  EXPECT_FALSE(maintenance_from_text("[").ok());
}

TEST(MaintenancePage, Is503WithRetryAfterAndEscapedMessage) {
  Maintenance m{"<b>db</b> & cache", 42, 0};
  std::string r = maintenance_response(m, "req-1", true);
  EXPECT_EQ(r.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u);
  EXPECT_NE(r.find("\r\nRetry-After: 42\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: keep-alive\r\n"), std::string::npos);
  EXPECT_NE(r.find("&lt;b&gt;db&lt;/b&gt; &amp; cache"), std::string::npos);
  EXPECT_EQ(r.find("<b>db"), std::string::npos);
  auto body_at = r.find("\r\n\r\n") + 4;
  auto length_at = r.find("Content-Length: ") + 16;
  EXPECT_EQ(std::stoul(r.substr(length_at)), r.size() - body_at);

  std::string head = maintenance_response(Maintenance{}, "req-2", false, true);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  EXPECT_NE(head.find("Connection: close"), std::string::npos);
  EXPECT_NE(maintenance_response(Maintenance{}, "r", false).find("down for maintenance"),
            std::string::npos);
}

// Answers every request on 127.0.0.1:0 with 200 "backend" and closes the connection.
class Backend200 {
 public:
  Backend200() : m_acceptor(m_ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    m_thread = std::thread([this] {
      while (!m_stop) {
        boost::system::error_code ec;
        tcp::socket s(m_ioc);
        m_acceptor.accept(s, ec);
        if (ec) {
          continue;
        }
        char buf[4096];
        s.read_some(asio::buffer(buf), ec);
        std::string_view res =
            "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nbackend";
        asio::write(s, asio::buffer(res), ec);
        s.shutdown(tcp::socket::shutdown_both, ec);
      }
    });
  }
  ~Backend200() {
    m_stop = true;
    ::shutdown(m_acceptor.native_handle(), SHUT_RDWR);
    m_thread.join();
  }
  std::string address() const {
    return "127.0.0.1:" + std::to_string(m_acceptor.local_endpoint().port());
  }

 private:
  asio::io_context m_ioc;
  tcp::acceptor m_acceptor;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

class ProxyMaintenance : public ::testing::Test {
 protected:
  void SetUp() override {
    port = testing::free_port();
    routes.env = "dev";
    routes.listen = "127.0.0.1:" + std::to_string(port);
    routes.health.interval = Millis(50);
    routes.drain_timeout = Millis(200);
    routes.release_sets.push_back({"1", 100, {{"dev-r1-0", backend.address()}}});
  }
  void TearDown() override { stop(); }

  void start() {
    ProxyOptions options;
    options.state_dir = dir.path();
    options.threads = 1;
    proxy = std::make_unique<Proxy>(options);
    auto started = proxy->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }
  void stop() {
    if (proxy) {
      proxy->request_shutdown();
      proxy->wait();
      proxy.reset();
    }
  }
  AdminClient admin() const { return AdminClient(AdminClient::socket_path(dir.path())); }
  bool answers(int status) {
    return testing::wait_until([&] { return testing::http_get(port, "/").status == status; });
  }

  testing::TempDir dir;
  Backend200 backend;
  int port = 0;
  EnvRoutes routes;
  std::unique_ptr<Proxy> proxy;
};

TEST_F(ProxyMaintenance, AnswersThePageWhileRoutesStayThenRoutesAgain) {
  start();
  ASSERT_TRUE(admin().put_env(routes).ok());
  ASSERT_TRUE(answers(200));

  auto set = admin().set_maintenance("dev", Maintenance{"Back soon", 120, 0});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_GT(set->since_ms, 0);
  auto r = testing::http_get(port, "/anything");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "120");
  EXPECT_NE(r.body.find("Back soon"), std::string::npos);
  EXPECT_NE(r.body.find("Down for maintenance"), std::string::npos);

  // The routes are untouched, and the backend is still health-checked.
  auto got = admin().get_env("dev");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, routes);
  auto health = admin().health("dev");
  ASSERT_TRUE(health.ok());
  ASSERT_EQ(health->size(), 1u);
  EXPECT_EQ(health->front().state, "healthy");
  auto m = admin().get_maintenance("dev");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ((*m)->retry_after_s, 120);

  auto cleared = admin().clear_maintenance("dev");
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(*cleared);
  auto back = testing::http_get(port, "/");
  EXPECT_EQ(back.status, 200);
  EXPECT_EQ(back.body, "backend");
  auto again = admin().clear_maintenance("dev");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto none = admin().get_maintenance("dev");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(ProxyMaintenance, SurvivesRoutePutsAndARestart) {
  start();
  ASSERT_TRUE(admin().put_env(routes).ok());
  auto set = admin().set_maintenance("dev", Maintenance{"Incident 7", 60, 0});
  ASSERT_TRUE(set.ok());

  // A new route table (as a deploy or a drift fix sends) keeps the maintenance.
  routes.release_sets[0].weight = 50;
  ASSERT_TRUE(admin().put_env(routes).ok());
  EXPECT_EQ(testing::http_get(port, "/").status, 503);
  // Switching it on again keeps its start and changes the page.
  auto changed = admin().set_maintenance("dev", Maintenance{"Incident 7, still", 30, 0});
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->since_ms, set->since_ms);

  stop();
  auto saved = fs::read_file(dir.path() / "routes.json");
  ASSERT_TRUE(saved.ok());
  json doc = json::parse(*saved);
  ASSERT_EQ(doc["envs"].size(), 1u);
  EXPECT_EQ(doc["envs"][0]["maintenance"]["message"], "Incident 7, still");

  start();
  auto r = testing::http_get(port, "/");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "30");
  EXPECT_NE(r.body.find("Incident 7, still"), std::string::npos);
  auto m = admin().get_maintenance("dev");
  ASSERT_TRUE(m.ok() && m->has_value());
  EXPECT_EQ((*m)->since_ms, set->since_ms);
  auto got = admin().get_env("dev");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->release_sets[0].weight, 50);

  ASSERT_TRUE(admin().clear_maintenance("dev").ok());
  EXPECT_TRUE(answers(200));
  stop();
  saved = fs::read_file(dir.path() / "routes.json");
  ASSERT_TRUE(saved.ok());
  EXPECT_FALSE(json::parse(*saved)["envs"][0].contains("maintenance"));
}

TEST_F(ProxyMaintenance, AdminErrors) {
  start();
  auto unknown = admin().set_maintenance("prod", Maintenance{});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  ASSERT_TRUE(admin().put_env(routes).ok());
  Maintenance bad;
  bad.retry_after_s = -5;
  auto invalid = admin().set_maintenance("dev", bad);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, Errc::invalid);
  EXPECT_TRUE(answers(200));  // a refused change leaves the front door routing
}

}  // namespace
}  // namespace ztp::proxy
