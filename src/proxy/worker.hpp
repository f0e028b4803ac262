#pragma once

#include "proxy/coro.hpp"

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "proxy/access_log.hpp"
#include "proxy/balancer.hpp"
#include "proxy/stats.hpp"

namespace ztp::proxy {

// What the control thread shares with every worker about one environment: the current route
// table (published atomically, versioned so workers notice a change with one atomic load),
// the access log, and the counters of requests no release could take.
struct EnvShared {
  EnvShared(std::string env_name, std::shared_ptr<AccessLog> log, size_t workers)
      : name(std::move(env_name)), access_log(std::move(log)), unrouted("", workers) {}

  // Control thread: makes `t` the table new requests use.
  void publish(std::shared_ptr<const Table> t) {
    table.store(std::move(t), std::memory_order_release);
    version.fetch_add(1, std::memory_order_acq_rel);
  }

  const std::string name;
  std::atomic<uint64_t> version{0};
  std::atomic<std::shared_ptr<const Table>> table;
  std::atomic<bool> closing{false};  // deleted: finish current requests, then close
  std::shared_ptr<AccessLog> access_log;
  ReleaseStats unrouted;
};

// A worker's view of one table: its own balancer cursors over the shared snapshot.
struct WorkerTable {
  explicit WorkerTable(std::shared_ptr<const Table> t) : balancer(std::move(t)) {}
  Balancer balancer;
};

// A worker's state for one environment (worker thread only).
struct WorkerEnv {
  explicit WorkerEnv(std::shared_ptr<EnvShared> s) : shared(std::move(s)) {}
  // The worker's table for the current snapshot, rebuilt when a new one was published.
  const std::shared_ptr<WorkerTable>& current();

  std::shared_ptr<EnvShared> shared;
  std::string log_buffer;  // access-log lines waiting for the flush timer

 private:
  std::shared_ptr<WorkerTable> m_current;
  uint64_t m_version = ~uint64_t{0};
};

// A kept-alive connection to a backend, pooled per worker.
struct Upstream {
  explicit Upstream(boost::asio::io_context& ioc, std::shared_ptr<Backend> b)
      : socket(ioc), backend(std::move(b)) {}
  boost::asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;
  std::shared_ptr<Backend> backend;
  std::chrono::steady_clock::time_point idle_since{};
};

class Session;

// One event loop on one thread: its own acceptor per listener (SO_REUSEPORT), its client
// sessions, its upstream connection pools. Nothing here is locked; other threads reach a
// worker only by posting to its io_context. A periodic tick flushes the access logs, closes
// idle pooled connections and sweeps the sessions' deadlines (the only timer of the worker).
class Worker {
 public:
  explicit Worker(size_t index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  size_t index() const { return m_index; }
  boost::asio::io_context& context() { return *m_ioc; }

  // Runs the event loop on a new thread.
  void start();
  // Stops the event loop and joins the thread (any thread but this worker's).
  void stop();

  // Any thread: accepts connections for `env` on `acceptor` (created on this worker's
  // io_context) until the acceptor is closed.
  void serve(std::shared_ptr<EnvShared> env, std::shared_ptr<boost::asio::ip::tcp::acceptor> acc);
  // Any thread: take no new requests; answer the current ones with Connection: close; close
  // idle connections.
  void begin_shutdown();
  // Open client connections (any thread).
  size_t connections() const { return m_connections.load(std::memory_order_acquire); }

  // --- Worker thread only (used by Session).
  bool stopping() const { return m_stopping; }
  // An idle pooled connection to `b`, or null. With `verify`, a connection the backend has
  // closed meanwhile is discarded (used when a request cannot be retried).
  std::unique_ptr<Upstream> take_idle(const Backend* b, bool verify);
  // Pools a connection whose last response completed cleanly.
  void give_back(std::unique_ptr<Upstream> up);
  void add_session(Session* s);
  void remove_session(Session* s);
  // Writes the buffered access-log lines of `env` now; without `wait`, keeps them for the next
  // flush when the log is being rotated.
  void flush_log(WorkerEnv& env, bool wait = false);

 private:
  boost::asio::awaitable<void> accept_loop(std::shared_ptr<WorkerEnv> env,
                                           std::shared_ptr<boost::asio::ip::tcp::acceptor> acc);
  boost::asio::awaitable<void> tick_loop();
  void tick();

  size_t m_index;
  bool m_stopping = false;
  bool m_running = false;
  unsigned m_ticks = 0;
  std::atomic<size_t> m_connections{0};
  std::unordered_map<const EnvShared*, std::shared_ptr<WorkerEnv>> m_envs;
  std::unordered_set<Session*> m_sessions;
  std::unordered_map<const Backend*, std::vector<std::unique_ptr<Upstream>>> m_pools;
  // Destroyed first (see ~Worker): suspended sessions still reach the members above.
  std::unique_ptr<boost::asio::io_context> m_ioc;
  std::optional<boost::asio::steady_timer> m_timer;
  std::thread m_thread;
};

}  // namespace ztp::proxy
