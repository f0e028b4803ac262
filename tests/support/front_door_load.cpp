#include "support/front_door_load.hpp"

namespace ztp::testing {

FrontDoorLoad::FrontDoorLoad(int port, int max_requests, int threads, Observe observe)
    : m_port(port), m_max(max_requests), m_observe(std::move(observe)) {
  for (int i = 0; i < threads; ++i) {
    m_threads.emplace_back([this] { loop(); });
  }
}

FrontDoorLoad::~FrontDoorLoad() { stop(); }

void FrontDoorLoad::stop() {
  m_stop = true;
  for (auto& t : m_threads) {
    if (t.joinable()) {
      t.join();
    }
  }
}

std::string FrontDoorLoad::first_failure() const {
  std::lock_guard lock(m_mu);
  return m_first_failure;
}

void FrontDoorLoad::loop() {
  while (!m_stop && m_requests < m_max) {
    auto r = http_get(m_port, "/");
    ++m_requests;
    if (r.status != 200 && m_failures++ == 0) {
      std::lock_guard lock(m_mu);
      m_first_failure = std::to_string(r.status) + ": " + r.body.substr(0, 200);
    }
    if (m_observe) {
      m_observe(r);
    }
  }
}

}  // namespace ztp::testing
