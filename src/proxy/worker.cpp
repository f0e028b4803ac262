#include "proxy/worker.hpp"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

#include "proxy/session.hpp"

namespace ztp::proxy {
namespace {

namespace asio = boost::asio;
using asio::redirect_error;
using asio::use_awaitable;
using std::chrono::steady_clock;

// Also the resolution of every client and upstream timeout.
constexpr auto k_tick = std::chrono::milliseconds(100);
constexpr unsigned k_pool_sweep_ticks = 10;
// An idle client connection is closed at shutdown once it has waited this long for a request.
constexpr auto k_idle_close_grace = std::chrono::seconds(1);
// Pooled upstream connections idle for longer are closed (backends time out idle ones too).
constexpr auto k_upstream_idle = std::chrono::seconds(15);
constexpr size_t k_pool_limit = 256;

}  // namespace

const std::shared_ptr<WorkerTable>& WorkerEnv::current() {
  uint64_t v = shared->version.load(std::memory_order_acquire);
  if (v != m_version || !m_current) {
    m_current = std::make_shared<WorkerTable>(shared->table.load(std::memory_order_acquire));
    m_version = v;
  }
  return m_current;
}

Worker::Worker(size_t index) : m_index(index), m_ioc(std::make_unique<asio::io_context>(1)) {
  m_timer.emplace(*m_ioc);
}

Worker::~Worker() {
  stop();
  m_pools.clear();
  m_timer.reset();
  m_ioc.reset();  // destroys the suspended sessions while the maps they use still exist
}

void Worker::start() {
  m_running = true;
  asio::co_spawn(*m_ioc, tick_loop(), asio::detached);
  m_thread = std::thread([this] {
    auto guard = asio::make_work_guard(*m_ioc);
    m_ioc->run();
  });
}

void Worker::stop() {
  if (!m_running) {
    return;
  }
  m_running = false;
  m_ioc->stop();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  // Flush what the timer did not.
  for (auto& [key, env] : m_envs) {
    flush_log(*env, true);
  }
}

void Worker::serve(std::shared_ptr<EnvShared> env, std::shared_ptr<asio::ip::tcp::acceptor> acc) {
  asio::post(*m_ioc, [this, env = std::move(env), acc = std::move(acc)]() mutable {
    auto& slot = m_envs[env.get()];
    if (!slot) {
      slot = std::make_shared<WorkerEnv>(env);
    }
    asio::co_spawn(*m_ioc, accept_loop(slot, std::move(acc)), asio::detached);
  });
}

void Worker::begin_shutdown() {
  asio::post(*m_ioc, [this] {
    m_stopping = true;
    tick();
  });
}

asio::awaitable<void> Worker::accept_loop(std::shared_ptr<WorkerEnv> env,
                                          std::shared_ptr<asio::ip::tcp::acceptor> acc) {
  boost::system::error_code ec;
  while (acc->is_open()) {
    asio::ip::tcp::socket socket(*m_ioc);
    co_await acc->async_accept(socket, redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc->is_open()) {
        break;
      }
      // Out of descriptors or a connection reset before accept: wait a little, go on.
      asio::steady_timer pause(*m_ioc, std::chrono::milliseconds(20));
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    auto session = std::make_shared<Session>(*this, env, std::move(socket));
    asio::co_spawn(*m_ioc, Session::run(std::move(session)), asio::detached);
  }
}

asio::awaitable<void> Worker::tick_loop() {
  boost::system::error_code ec;
  while (true) {
    m_timer->expires_after(k_tick);
    co_await m_timer->async_wait(redirect_error(use_awaitable, ec));
    if (ec) {
      break;
    }
    tick();
  }
}

void Worker::tick() {
  for (auto& [key, env] : m_envs) {
    flush_log(*env);
  }
  auto now = steady_clock::now();
  // Closing a socket only queues the completions of its operations: no session leaves the
  // set while this loop runs.
  for (Session* s : m_sessions) {
    s->expire(now);
    if (m_stopping || s->env().shared->closing.load(std::memory_order_relaxed)) {
      s->close_if_idle(now, k_idle_close_grace);
    }
  }
  if (++m_ticks % k_pool_sweep_ticks == 0 || m_stopping) {
    for (auto it = m_pools.begin(); it != m_pools.end();) {
      auto& pool = it->second;
      std::erase_if(pool, [&](const std::unique_ptr<Upstream>& up) {
        return m_stopping || up->backend->draining() || now - up->idle_since > k_upstream_idle;
      });
      it = pool.empty() ? m_pools.erase(it) : std::next(it);
    }
  }
}

std::unique_ptr<Upstream> Worker::take_idle(const Backend* b, bool verify) {
  auto it = m_pools.find(b);
  if (it == m_pools.end()) {
    return nullptr;
  }
  auto& pool = it->second;
  auto now = steady_clock::now();
  while (!pool.empty()) {
    std::unique_ptr<Upstream> up = std::move(pool.back());
    pool.pop_back();
    if (now - up->idle_since > k_upstream_idle) {
      continue;
    }
    if (verify) {
      char byte;
      ssize_t n = ::recv(up->socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        continue;
      }
    }
    return up;
  }
  return nullptr;
}

void Worker::give_back(std::unique_ptr<Upstream> up) {
  if (m_stopping || up->backend->draining()) {
    return;
  }
  auto& pool = m_pools[up->backend.get()];
  if (pool.size() >= k_pool_limit) {
    return;
  }
  up->idle_since = steady_clock::now();
  pool.push_back(std::move(up));
}

void Worker::add_session(Session* s) {
  m_sessions.insert(s);
  m_connections.fetch_add(1, std::memory_order_acq_rel);
}

void Worker::remove_session(Session* s) {
  m_sessions.erase(s);
  m_connections.fetch_sub(1, std::memory_order_acq_rel);
}

void Worker::flush_log(WorkerEnv& env, bool wait) {
  if (env.log_buffer.empty()) {
    return;
  }
  if (!env.shared->access_log || env.shared->access_log->append(env.log_buffer, wait)) {
    env.log_buffer.clear();
  }
}

}  // namespace ztp::proxy
