#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "proxy/health_check.hpp"
#include "proxy/routes.hpp"

namespace ztp::proxy {

// One replica as the proxy sees it. Workers read `routable()` and count their in-flight
// requests in their own slot; the control thread owns `health` and publishes its verdict
// through an atomic. Shared by the route tables that list it (and in-flight requests).
class Backend {
 public:
  Backend(BackendRoute route, std::string release, boost::asio::ip::tcp::endpoint endpoint,
          size_t workers, const HealthConfig& health, const Clock& clock);

  const std::string& id() const { return m_route.id; }
  const std::string& address() const { return m_route.address; }
  const std::string& release() const { return m_release; }
  const boost::asio::ip::tcp::endpoint& endpoint() const { return m_endpoint; }

  // Healthy and not draining: may take new requests.
  bool routable() const {
    return m_healthy.load(std::memory_order_relaxed) && !m_draining.load(std::memory_order_relaxed);
  }
  bool healthy() const { return m_healthy.load(std::memory_order_relaxed); }
  bool draining() const { return m_draining.load(std::memory_order_relaxed); }

  // Request path (worker `w` only): counts a request in flight, and its end.
  void begin_request(size_t w);
  void end_request(size_t w);
  // Sum of the in-flight requests of every worker.
  int64_t in_flight() const;

  // Request path: a connection failed with `error_value` (errno); the control thread turns it
  // into an ejection on its next tick. Routing stops at once.
  void report_connect_error(int error_value);
  // Control thread: takes the pending passive ejection, if any (its errno, else 0).
  int take_ejection();

  // Control thread only.
  void set_healthy(bool healthy) { m_healthy.store(healthy, std::memory_order_relaxed); }
  void set_draining(bool draining) { m_draining.store(draining, std::memory_order_relaxed); }
  void set_release(std::string release) { m_release = std::move(release); }
  HealthCheck health;
  bool probing = false;

 private:
  struct alignas(64) Slot {
    std::atomic<int64_t> in_flight{0};
  };

  BackendRoute m_route;
  std::string m_release;
  boost::asio::ip::tcp::endpoint m_endpoint;
  size_t m_workers;
  std::unique_ptr<Slot[]> m_slots;
  std::atomic<bool> m_healthy{false};
  std::atomic<bool> m_draining{false};
  std::atomic<int> m_ejected{0};
};

}  // namespace ztp::proxy
