#include "proxy/balancer.hpp"

namespace ztp::proxy {

Balancer::Balancer(std::shared_ptr<const Table> table)
    : m_table(std::move(table)),
      m_current(m_table ? m_table->sets.size() : 0, 0),
      m_cursor(m_current.size(), 0) {}

Balancer::Pick Balancer::pick() {
  if (!m_table) {
    return {};
  }
  const auto& sets = m_table->sets;
  int64_t total = 0;
  size_t best = sets.size();
  for (size_t i = 0; i < sets.size(); ++i) {
    const RouteSet& s = sets[i];
    if (s.weight <= 0) {
      continue;
    }
    bool any = false;
    for (const auto& b : s.backends) {
      if (b->routable()) {
        any = true;
        break;
      }
    }
    if (!any) {
      continue;
    }
    m_current[i] += s.weight;
    total += s.weight;
    if (best == sets.size() || m_current[i] > m_current[best]) {
      best = i;
    }
  }
  if (best == sets.size()) {
    return {};
  }
  m_current[best] -= total;
  const RouteSet& set = sets[best];
  size_t n = set.backends.size();
  for (size_t k = 0; k < n; ++k) {
    size_t idx = (m_cursor[best] + k) % n;
    Backend* b = set.backends[idx].get();
    if (b->routable()) {
      m_cursor[best] = idx + 1;
      return {&set, b, idx};
    }
  }
  return {};
}

}  // namespace ztp::proxy
