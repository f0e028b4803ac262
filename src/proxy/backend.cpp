#include "proxy/backend.hpp"

namespace ztp::proxy {

Backend::Backend(BackendRoute route, std::string release, boost::asio::ip::tcp::endpoint endpoint,
                 size_t workers, const HealthConfig& health_config, const Clock& clock)
    : health(health_config, clock),
      m_route(std::move(route)),
      m_release(std::move(release)),
      m_endpoint(endpoint),
      m_workers(workers == 0 ? 1 : workers),
      m_slots(new Slot[m_workers]) {}

void Backend::begin_request(size_t w) {
  auto& c = m_slots[w % m_workers].in_flight;
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void Backend::end_request(size_t w) {
  auto& c = m_slots[w % m_workers].in_flight;
  c.store(c.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

int64_t Backend::in_flight() const {
  int64_t n = 0;
  for (size_t i = 0; i < m_workers; ++i) {
    n += m_slots[i].in_flight.load(std::memory_order_acquire);
  }
  return n;
}

void Backend::report_connect_error(int error_value) {
  m_healthy.store(false, std::memory_order_relaxed);
  m_ejected.store(error_value == 0 ? -1 : error_value, std::memory_order_relaxed);
}

int Backend::take_ejection() { return m_ejected.exchange(0, std::memory_order_relaxed); }

}  // namespace ztp::proxy
