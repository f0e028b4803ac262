#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/backend.hpp"
#include "proxy/maintenance.hpp"
#include "proxy/routes.hpp"
#include "proxy/stats.hpp"

namespace ztp::proxy {

// One release set of a published route table.
struct RouteSet {
  std::string release;
  int weight = 0;
  std::vector<std::shared_ptr<Backend>> backends;
  std::shared_ptr<ReleaseStats> stats;
};

// An immutable snapshot of an environment's routes: built by the control thread, published
// atomically, read by the workers without locks.
struct Table {
  EnvRoutes routes;
  std::vector<RouteSet> sets;
  // Set while the environment is in maintenance: every request gets its page (503).
  std::shared_ptr<const Maintenance> maintenance;
};

// Picks backends from one table. Smooth weighted round-robin (nginx's) across the sets of
// positive weight that have a routable backend, then round-robin among the routable backends
// of the chosen set. Holds mutable cursors: one Balancer per worker, never shared.
class Balancer {
 public:
  explicit Balancer(std::shared_ptr<const Table> table);

  struct Pick {
    const RouteSet* set = nullptr;
    Backend* backend = nullptr;
    size_t index = 0;  // of `backend` in set->backends
  };
  // The next backend; both null when no set of positive weight has a routable backend.
  Pick pick();

  const std::shared_ptr<const Table>& table() const { return m_table; }

 private:
  std::shared_ptr<const Table> m_table;
  std::vector<int64_t> m_current;
  std::vector<size_t> m_cursor;
};

}  // namespace ztp::proxy
