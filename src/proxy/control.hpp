#pragma once

#include "proxy/coro.hpp"

#include <sys/types.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "proxy/proxy.hpp"
#include "proxy/routes.hpp"
#include "proxy/worker.hpp"

namespace ztp::proxy {

// An answer of the admin API.
struct AdminReply {
  int status = 200;
  nlohmann::json body;
  std::vector<int> pass_fds;  // listeners to pass after the reply (takeover)
  bool shutdown_after = false;
};

// The control plane behind Proxy. Everything here runs on the control thread (the admin API,
// health probes, drain tracking, persistence) except start(), which runs before it exists.
class Control {
 public:
  explicit Control(ProxyOptions options);
  ~Control();

  Result<void> start();
  void request_shutdown();
  void wait();

 private:
  // One environment as the control thread keeps it.
  struct Env {
    EnvRoutes routes;
    std::shared_ptr<EnvShared> shared;
    std::string bound_listen;  // the address the acceptors serve; empty when none
    std::vector<std::pair<size_t, std::shared_ptr<boost::asio::ip::tcp::acceptor>>> acceptors;
    std::vector<std::shared_ptr<Backend>> backends;  // of the published table
    struct Leaving {
      std::shared_ptr<Backend> backend;
      std::chrono::steady_clock::time_point deadline;
      std::optional<std::chrono::steady_clock::time_point> drained_at;
    };
    std::vector<Leaving> leaving;  // removed: draining, then drained (kept 60 s)
    std::map<std::string, std::shared_ptr<ReleaseStats>> stats;
    std::shared_ptr<const Maintenance> maintenance;  // set: every request gets its page
  };

  // --- control_envs.cpp: the environments.
  // `restored`: the maintenance routes.json kept for a new environment (restore only).
  Result<nlohmann::json> apply(EnvRoutes routes,
                               std::shared_ptr<const Maintenance> restored = nullptr);
  Result<void> bind_env(Env& env, const std::string& listen);
  void close_listeners(Env& env);
  nlohmann::json health_json(const Env& env) const;
  nlohmann::json stats_json(const Env& env) const;
  void tick();
  void start_probe(const std::shared_ptr<Env>& env, const std::shared_ptr<Backend>& backend);
  Result<void> persist() const;

  // --- control_maintenance.cpp: maintenance mode.
  // Switches the maintenance of `env` on (`m`) or off (null): publishes a copy of its table
  // with only that changed, and persists it.
  void set_maintenance(Env& env, std::shared_ptr<const Maintenance> m);
  AdminReply maintenance_request(const std::string& method, Env& env, const std::string& body);
  Result<void> restore();

  // --- control.cpp: the admin API and the lifecycle.
  boost::asio::awaitable<void> admin_accept_loop();
  boost::asio::awaitable<void> admin_session(boost::asio::local::stream_protocol::socket socket);
  boost::asio::awaitable<AdminReply> dispatch(std::string method, std::string target,
                                              std::string body);
  boost::asio::awaitable<void> tick_loop();
  Result<void> take_listeners_over();
  Result<void> bind_admin_socket();
  void begin_shutdown();
  boost::asio::awaitable<void> finish_shutdown();
  std::vector<int> listener_fds(nlohmann::json& listeners) const;

  ProxyOptions m_options;
  const Clock& m_clock;
  std::filesystem::path m_socket_path;
  boost::asio::io_context m_ioc{1};
  std::vector<std::unique_ptr<Worker>> m_workers;
  std::map<std::string, std::shared_ptr<Env>> m_envs;
  // Listeners received from the proxy taken over: env -> (listen, descriptors).
  std::map<std::string, std::pair<std::string, std::vector<int>>> m_inherited;
  // Backends ("env\nid\naddress") the proxy taken over found healthy: they start healthy.
  std::set<std::string> m_assume_healthy;
  ino_t m_admin_inode = 0;
  std::optional<boost::asio::local::stream_protocol::acceptor> m_admin;
  std::optional<boost::asio::signal_set> m_signals;
  boost::asio::steady_timer m_tick_timer{m_ioc};
  std::thread m_thread;
  bool m_started = false;
  bool m_shutting_down = false;
  bool m_restoring = false;  // apply() keeps an environment whose listener cannot bind
  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_done = false;
};

}  // namespace ztp::proxy
