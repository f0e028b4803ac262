#pragma once

#include <filesystem>
#include <memory>

#include "proxy/access_log.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace ztp::proxy {

// How a proxy runs.
struct ProxyOptions {
  std::filesystem::path state_dir;  // admin.sock, routes.json, access-<env>.log
  unsigned threads = 0;             // worker threads (event loops); 0: one per core
  // Take the listeners over from the proxy answering at the admin socket, then ask it to
  // drain and exit; the admin socket is bound once it is gone.
  bool takeover = false;
  bool handle_signals = false;  // SIGTERM/SIGINT begin a graceful shutdown
  // Times health checks; null: the system clock. Drains wait on real time (steady_clock): they
  // wait for real connections to finish.
  const Clock* clock = nullptr;
  AccessLogRotation access_log;  // of every access-<env>.log
};

class Control;

// The data plane: front-door listeners per environment, routing, health checks, draining,
// counters, access logs, and the admin API on `<state_dir>/admin.sock` (mode 0600).
class Proxy {
 public:
  explicit Proxy(ProxyOptions options);
  // Shuts down (gracefully) if still running.
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Restores routes.json, binds the listeners and the admin socket, starts the threads.
  // conflict when another proxy already answers at the admin socket (and no takeover),
  // internal when the state directory or the admin socket cannot be set up.
  Result<void> start();
  // Begins a graceful shutdown: stop accepting, finish in-flight requests (bounded by the
  // longest drain timeout), exit. Any thread.
  void request_shutdown();
  // Blocks until the proxy has shut down.
  void wait();

 private:
  std::unique_ptr<Control> m_control;
};

}  // namespace ztp::proxy
