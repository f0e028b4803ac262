#include "proxy/control.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <csignal>

#include "proxy/admin_client.hpp"
#include "proxy/unix_http.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/url_path.hpp"

namespace ztp::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::redirect_error;
using asio::use_awaitable;
using nlohmann::json;

constexpr auto k_tick = std::chrono::milliseconds(50);

AdminReply error_reply(int status, std::string message) {
  return AdminReply{status, json{{"error", std::move(message)}}, {}, false};
}

}  // namespace

Control::Control(ProxyOptions options)
    : m_options(std::move(options)),
      m_clock(m_options.clock != nullptr ? *m_options.clock : system_clock()) {
  unsigned n = m_options.threads;
  if (n == 0) {
    n = std::max(1u, std::thread::hardware_concurrency());
  }
  for (unsigned i = 0; i < n; ++i) {
    m_workers.push_back(std::make_unique<Worker>(i));
  }
  m_socket_path = AdminClient::socket_path(m_options.state_dir);
}

Control::~Control() {
  if (m_started) {
    request_shutdown();
    wait();
  }
  for (auto& [env, listen_fds] : m_inherited) {
    for (int fd : listen_fds.second) {
      ::close(fd);
    }
  }
  // Acceptors belong to the workers' io_contexts: release them before the workers go, even
  // where a suspended probe still holds its environment.
  for (auto& [name, env] : m_envs) {
    env->acceptors.clear();
  }
  m_envs.clear();
  m_workers.clear();
}

Result<void> Control::start() {
  ZTP_TRY(fs::ensure_dir(m_options.state_dir));
  std::signal(SIGPIPE, SIG_IGN);
  for (auto& w : m_workers) {
    w->start();
  }
  bool taking_over = false;
  if (m_options.takeover) {
    ZTP_TRY(take_listeners_over());
    taking_over = !m_inherited.empty() || AdminClient(m_socket_path).ping().ok();
  } else if (AdminClient(m_socket_path, std::chrono::seconds(2)).ping().ok()) {
    return make_error(Errc::conflict,
                      fmt::format("a proxy already answers at {}: stop it (POST /v1/shutdown) "
                                  "or start this one with --takeover",
                                  m_socket_path.string()));
  }
  ZTP_TRY(restore());
  for (auto& [env, listen_fds] : m_inherited) {
    for (int fd : listen_fds.second) {
      ::close(fd);
    }
  }
  m_inherited.clear();
  m_assume_healthy.clear();

  if (taking_over) {
    AdminClient old(m_socket_path, std::chrono::seconds(10));
    auto asked = old.shutdown();
    if (!asked.ok()) {
      log::warn("the proxy taken over did not take the shutdown request",
                {{"error", asked.error().message}});
    }
    // It answers until it has drained; bind the admin socket once it is gone.
    Millis longest{30000};
    for (auto& [name, env] : m_envs) {
      longest = std::max(longest, env->routes.drain_timeout);
    }
    auto deadline = std::chrono::steady_clock::now() + longest + std::chrono::seconds(15);
    while (AdminClient(m_socket_path, std::chrono::seconds(1)).ping().ok() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ZTP_TRY(bind_admin_socket());

  if (m_options.handle_signals) {
    m_signals.emplace(m_ioc, SIGTERM, SIGINT);
    m_signals->async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) {
        log::info("signal received: draining and exiting");
        begin_shutdown();
      }
    });
  }
  asio::co_spawn(m_ioc, admin_accept_loop(), asio::detached);
  asio::co_spawn(m_ioc, tick_loop(), asio::detached);
  m_started = true;
  m_thread = std::thread([this] { m_ioc.run(); });
  log::info("proxy started", {{"admin", m_socket_path.string()},
                              {"threads", std::to_string(m_workers.size())},
                              {"envs", std::to_string(m_envs.size())}});
  return {};
}

void Control::request_shutdown() {
  asio::post(m_ioc, [this] { begin_shutdown(); });
}

void Control::wait() {
  if (!m_started) {
    return;
  }
  {
    std::unique_lock lock(m_mu);
    m_cv.wait(lock, [this] { return m_done; });
  }
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

Result<void> Control::take_listeners_over() {
  auto r = unix_http(m_socket_path, "POST", "/v1/takeover", "", Millis(10000), "fd_count");
  if (!r.ok()) {
    if (r.error().code == Errc::unavailable) {
      log::info("no proxy to take over; starting fresh", {{"admin", m_socket_path.string()}});
      return {};
    }
    return r.take_error();
  }
  auto fds = std::move(r->fds);
  json j = json::parse(r->body, nullptr, false);
  if (r->status != 200 || !j.is_object() || !j.contains("listeners")) {
    for (int fd : fds) {
      ::close(fd);
    }
    return make_error(Errc::internal, fmt::format("the proxy at {} refused the takeover ({}): {}",
                                                  m_socket_path.string(), r->status, r->body));
  }
  size_t next = 0;
  for (const auto& l : j["listeners"]) {
    size_t count = l.value("fds", size_t{0});
    auto& slot = m_inherited[l.value("env", std::string())];
    slot.first = l.value("listen", std::string());
    for (size_t i = 0; i < count && next < fds.size(); ++i) {
      slot.second.push_back(fds[next++]);
    }
  }
  while (next < fds.size()) {
    ::close(fds[next++]);
  }
  for (const auto& h : j.value("healthy", json::array())) {
    m_assume_healthy.insert(h.value("env", std::string()) + "\n" + h.value("id", std::string()) +
                            "\n" + h.value("address", std::string()));
  }
  log::info("took the listeners over", {{"listeners", std::to_string(m_inherited.size())}});
  return {};
}

Result<void> Control::bind_admin_socket() {
  std::string path = m_socket_path.string();
  ::unlink(path.c_str());
  m_admin.emplace(m_ioc);
  boost::system::error_code ec;
  m_admin->open(asio::local::stream_protocol(), ec);
  mode_t old_mask = ::umask(0177);
  if (!ec) {
    m_admin->bind(asio::local::stream_protocol::endpoint(path), ec);
  }
  ::umask(old_mask);
  if (!ec) {
    m_admin->listen(64, ec);
  }
  if (ec) {
    return make_error(Errc::internal,
                      fmt::format("cannot listen on the admin socket {}: {}", path, ec.message()));
  }
  ::chmod(path.c_str(), 0600);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    m_admin_inode = st.st_ino;
  }
  return {};
}

asio::awaitable<void> Control::admin_accept_loop() {
  boost::system::error_code ec;
  while (m_admin && m_admin->is_open()) {
    asio::local::stream_protocol::socket socket(m_ioc);
    co_await m_admin->async_accept(socket, redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !m_admin->is_open()) {
        break;
      }
      continue;
    }
    asio::co_spawn(m_ioc, admin_session(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Control::admin_session(asio::local::stream_protocol::socket socket) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(8 * 1024 * 1024);
    co_await http::async_read(socket, buffer, parser, redirect_error(use_awaitable, ec));
    if (ec) {
      break;
    }
    auto& req = parser.get();
    AdminReply reply = co_await dispatch(std::string(req.method_string()),
                                         std::string(req.target()), std::move(req.body()));
    http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = reply.body.dump() + "\n";
    bool keep = req.keep_alive() && reply.pass_fds.empty() && !reply.shutdown_after;
    res.keep_alive(keep);
    res.prepare_payload();
    co_await http::async_write(socket, res, redirect_error(use_awaitable, ec));
    if (!ec && !reply.pass_fds.empty()) {
      auto sent = send_fds(socket.native_handle(), reply.pass_fds, Millis(5000));
      if (!sent.ok()) {
        log::error("passing the listeners failed", {{"error", sent.error().message}});
      }
    }
    if (reply.shutdown_after) {
      begin_shutdown();
    }
    if (ec || !keep) {
      break;
    }
  }
  socket.close(ec);
}

asio::awaitable<AdminReply> Control::dispatch(std::string method, std::string target,
                                              std::string body) {
  auto parts = path_segments(target);
  auto no_route = [&] {
    return error_reply(404, fmt::format("no such endpoint: {} {}", method, target));
  };
  if (parts.size() < 2 || parts[0] != "v1") {
    co_return no_route();
  }
  if (parts.size() == 2 && parts[1] == "ping") {
    co_return AdminReply{200,
                         json{{"ok", true},
                              {"pid", ::getpid()},
                              {"envs", m_envs.size()},
                              {"shutting_down", m_shutting_down}},
                         {},
                         false};
  }
  if (parts.size() == 2 && parts[1] == "shutdown") {
    if (method != "POST") {
      co_return error_reply(405, "use POST /v1/shutdown");
    }
    co_return AdminReply{200, json{{"shutting_down", true}}, {}, true};
  }
  if (parts.size() == 2 && parts[1] == "takeover") {
    if (method != "POST") {
      co_return error_reply(405, "use POST /v1/takeover");
    }
    AdminReply reply;
    json listeners = json::array();
    reply.pass_fds = listener_fds(listeners);
    json healthy = json::array();
    for (const auto& [name, env] : m_envs) {
      for (const auto& b : env->backends) {
        if (b->healthy()) {
          healthy.push_back({{"env", name}, {"id", b->id()}, {"address", b->address()}});
        }
      }
    }
    reply.body =
        json{{"listeners", listeners}, {"fd_count", reply.pass_fds.size()}, {"healthy", healthy}};
    co_return reply;
  }
  if (parts[1] != "envs" || parts.size() > 4) {
    co_return no_route();
  }
  if (parts.size() == 2) {
    if (method != "GET") {
      co_return error_reply(405, "use GET /v1/envs");
    }
    json envs = json::array();
    for (const auto& [name, env] : m_envs) {
      envs.push_back(to_json(env->routes));
    }
    co_return AdminReply{200, json{{"envs", envs}}, {}, false};
  }
  const std::string& name = parts[2];
  if (!valid_env_name(name)) {
    co_return error_reply(400, fmt::format("env: \"{}\" is not a valid environment name "
                                           "([a-z0-9][a-z0-9_.-]*)",
                                           name));
  }
  auto it = m_envs.find(name);
  if (parts.size() == 3 && method == "PUT") {
    if (m_shutting_down) {
      co_return error_reply(503, "the proxy is shutting down");
    }
    auto routes = env_routes_from_text(name, body);
    if (!routes.ok()) {
      co_return error_reply(400, routes.error().message);
    }
    auto applied = apply(std::move(*routes));
    if (!applied.ok()) {
      int status = applied.error().code == Errc::invalid    ? 400
                   : applied.error().code == Errc::conflict ? 409
                                                            : 500;
      co_return error_reply(status, applied.error().message);
    }
    co_return AdminReply{200, std::move(*applied), {}, false};
  }
  if (it == m_envs.end()) {
    co_return error_reply(404, fmt::format("environment {} is not served by this proxy", name));
  }
  std::shared_ptr<Env> env = it->second;
  if (parts.size() == 3 && method == "GET") {
    co_return AdminReply{200, to_json(env->routes), {}, false};
  }
  if (parts.size() == 3 && method == "DELETE") {
    env->shared->closing.store(true);
    close_listeners(*env);
    for (auto& b : env->backends) {
      b->set_draining(true);
    }
    m_envs.erase(it);
    if (auto saved = persist(); !saved.ok()) {
      log::error("cannot persist the routes", {{"error", saved.error().message}});
    }
    // Answer once the in-flight requests finished (bounded by the drain timeout).
    auto deadline = std::chrono::steady_clock::now() + env->routes.drain_timeout;
    asio::steady_timer timer(m_ioc);
    while (std::chrono::steady_clock::now() < deadline) {
      int64_t in_flight = 0;
      for (auto& b : env->backends) {
        in_flight += b->in_flight();
      }
      if (in_flight == 0) {
        break;
      }
      timer.expires_after(std::chrono::milliseconds(20));
      boost::system::error_code ec;
      co_await timer.async_wait(redirect_error(use_awaitable, ec));
    }
    log::info("environment deleted", {{"env", name}});
    co_return AdminReply{200, json{{"deleted", name}}, {}, false};
  }
  if (parts.size() == 4 && method == "GET" && parts[3] == "health") {
    tick();  // take in ejections reported since the last tick
    co_return AdminReply{200, health_json(*env), {}, false};
  }
  if (parts.size() == 4 && parts[3] == "maintenance") {
    if (m_shutting_down && method != "GET") {
      co_return error_reply(503, "the proxy is shutting down");
    }
    co_return maintenance_request(method, *env, body);
  }
  if (parts.size() == 4 && method == "GET" && parts[3] == "stats") {
    co_return AdminReply{200, stats_json(*env), {}, false};
  }
  co_return no_route();
}

std::vector<int> Control::listener_fds(json& listeners) const {
  std::vector<int> fds;
  for (const auto& [name, env] : m_envs) {
    if (env->acceptors.empty()) {
      continue;
    }
    for (const auto& [i, acc] : env->acceptors) {
      fds.push_back(const_cast<asio::ip::tcp::acceptor&>(*acc).native_handle());
    }
    listeners.push_back(
        {{"env", name}, {"listen", env->bound_listen}, {"fds", env->acceptors.size()}});
  }
  return fds;
}

asio::awaitable<void> Control::tick_loop() {
  boost::system::error_code ec;
  while (!m_shutting_down) {
    m_tick_timer.expires_after(k_tick);
    co_await m_tick_timer.async_wait(redirect_error(use_awaitable, ec));
    if (ec) {
      break;
    }
    tick();
  }
}

void Control::begin_shutdown() {
  if (m_shutting_down) {
    return;
  }
  m_shutting_down = true;
  log::info("proxy shutting down: no new connections, finishing in-flight requests");
  for (auto& [name, env] : m_envs) {
    close_listeners(*env);
  }
  for (auto& w : m_workers) {
    w->begin_shutdown();
  }
  asio::co_spawn(m_ioc, finish_shutdown(), asio::detached);
}

asio::awaitable<void> Control::finish_shutdown() {
  Millis longest{1000};
  for (auto& [name, env] : m_envs) {
    longest = std::max(longest, env->routes.drain_timeout);
  }
  auto deadline = std::chrono::steady_clock::now() + longest;
  asio::steady_timer timer(m_ioc);
  boost::system::error_code ec;
  while (std::chrono::steady_clock::now() < deadline) {
    size_t open = 0;
    for (auto& w : m_workers) {
      open += w->connections();
    }
    if (open == 0) {
      break;
    }
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(redirect_error(use_awaitable, ec));
  }
  for (auto& w : m_workers) {
    w->stop();
  }
  // Remove the socket only if it is still ours (a proxy taking over binds its own).
  struct stat st {};
  std::string path = m_socket_path.string();
  if (m_admin_inode != 0 && ::stat(path.c_str(), &st) == 0 && st.st_ino == m_admin_inode) {
    ::unlink(path.c_str());
  }
  if (m_admin) {
    m_admin->close(ec);
  }
  if (m_signals) {
    m_signals->cancel(ec);
  }
  m_tick_timer.cancel();
  log::info("proxy stopped");
  m_ioc.stop();
  {
    std::lock_guard lock(m_mu);
    m_done = true;
  }
  m_cv.notify_all();
}

}  // namespace ztp::proxy
