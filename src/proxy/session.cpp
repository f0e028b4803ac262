#include "proxy/session.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <cerrno>

#include "proxy/pages.hpp"

namespace ztp::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::redirect_error;
using asio::use_awaitable;
using std::chrono::steady_clock;

// Waiting for the first request of a connection, and between requests (nginx's default).
constexpr auto k_idle_timeout = std::chrono::seconds(75);
// Reading a request body from, or writing a response to, a client.
constexpr auto k_client_timeout = std::chrono::seconds(60);
// Bytes asked for per receive: a request head, a request body, a backend's answer.
constexpr size_t k_head_read = 4096;
constexpr size_t k_body_read = 16384;
constexpr size_t k_upstream_read = 16384;
// Above this, a worker writes its access-log buffer at once instead of waiting for the timer.
constexpr size_t k_log_flush_bytes = 256 * 1024;
// After refusing a request: how long, and how many bytes, the client's rest is read and
// dropped before the connection closes.
constexpr auto k_linger_timeout = std::chrono::seconds(5);
constexpr size_t k_linger_bytes = 1024 * 1024;
constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";

bool idempotent(http::verb v) {
  switch (v) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::trace:
    case http::verb::put:
    case http::verb::delete_:
      return true;
    default:
      return false;
  }
}

// The peer closed a kept-alive connection before answering: safe to retry on a fresh one.
bool stale_connection(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == http::error::partial_message;
}

// Drops the first `n` bytes of `iov`.
void consume(std::vector<asio::const_buffer>& iov, size_t n) {
  size_t i = 0;
  while (i < iov.size() && n >= iov[i].size()) {
    n -= iov[i].size();
    ++i;
  }
  if (i < iov.size()) {
    iov[i] += n;
  }
  iov.erase(iov.begin(), iov.begin() + static_cast<std::ptrdiff_t>(i));
}

}  // namespace

Session::Session(Worker& worker, std::shared_ptr<WorkerEnv> env, asio::ip::tcp::socket socket)
    : m_worker(worker),
      m_env(std::move(env)),
      m_socket(std::move(socket)),
      m_idle_since(steady_clock::now()) {
  beast::error_code ec;
  auto remote = m_socket.remote_endpoint(ec);
  if (!ec) {
    m_client = remote.address().to_string();
  }
  auto local = m_socket.local_endpoint(ec);
  if (!ec) {
    m_authority = local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                          : local.address().to_string();
    m_authority += ':';
    m_authority += std::to_string(local.port());
  }
  m_socket.non_blocking(true, ec);
  m_worker.add_session(this);
}

Session::~Session() { m_worker.remove_session(this); }

asio::awaitable<void> Session::run(std::shared_ptr<Session> self) { co_await self->loop(); }

bool Session::close_if_idle(steady_clock::time_point now, steady_clock::duration grace) {
  if (!m_idle || now - m_idle_since < grace || m_in.size() > 0) {
    return false;
  }
  beast::error_code ec;
  if (m_socket.available(ec) > 0) {
    return false;
  }
  m_socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  m_socket.close(ec);
  return true;
}

void Session::expire(steady_clock::time_point now) {
  if (m_waiting == Waiting::none || now < m_deadline) {
    return;
  }
  beast::error_code ec;
  if (m_waiting == Waiting::upstream && m_up) {
    m_up->socket.close(ec);
  } else {
    m_socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    m_socket.close(ec);
  }
  m_waiting = Waiting::none;
  m_timed_out = true;
}

void Session::arm(Waiting what, steady_clock::duration timeout) {
  m_waiting = what;
  m_deadline = steady_clock::now() + timeout;
}

bool Session::done_waiting() {
  m_waiting = Waiting::none;
  bool timed_out = m_timed_out;
  m_timed_out = false;
  return timed_out;
}

bool Session::send_now(asio::ip::tcp::socket& socket, beast::error_code& ec) {
  size_t n = socket.write_some(m_iov, ec);  // the socket is non-blocking
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
  }
  if (ec) {
    return true;
  }
  consume(m_iov, n);
  return m_iov.empty();
}

asio::awaitable<void> Session::send_rest(asio::ip::tcp::socket& socket, Waiting what,
                                         steady_clock::duration timeout, beast::error_code& ec) {
  arm(what, timeout);
  co_await asio::async_write(socket, m_iov, redirect_error(use_awaitable, ec));
  if (done_waiting()) {
    ec = beast::error::timeout;
  }
  m_iov.clear();
}

asio::awaitable<void> Session::loop() {
  beast::error_code ec;
  while (true) {
    m_req.reset(m_client, m_authority);
    m_idle = true;
    m_waiting = Waiting::client;
    m_deadline = m_idle_since + k_idle_timeout;
    bool parse_error = false;
    while (true) {
      if (m_in.size() > 0) {
        size_t n = m_req.put(m_in.data(), ec);
        m_in.consume(n);
        if (!ec) {
          break;
        }
        if (ec != http::error::need_more) {
          parse_error = true;
          break;
        }
      }
      size_t n = co_await m_socket.async_read_some(m_in.prepare(k_head_read),
                                                   redirect_error(use_awaitable, ec));
      m_in.commit(n);
      if (m_timed_out || ec) {
        break;
      }
    }
    done_waiting();
    m_idle = false;
    if (parse_error) {
      if (m_socket.is_open()) {
        co_await refuse(m_req.refusal());
      }
      break;
    }
    if (ec || !m_req.header_done() || !co_await serve()) {
      break;
    }
  }
  m_socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  m_socket.close(ec);
}

asio::awaitable<void> Session::refuse(int status) {
  beast::error_code ec;
  std::string id;
  new_request_id(id);
  std::string page = error_response(status, id, false);
  m_iov.assign(1, asio::buffer(page));
  if (!send_now(m_socket, ec)) {
    co_await send_rest(m_socket, Waiting::client, k_client_timeout, ec);
  }
  if (ec) {
    co_return;
  }
  // What the client sends meanwhile (the rest of a body the proxy does not read) is read and
  // dropped for a while: closing with unread bytes would reset the connection and could
  // destroy the answer before the client reads it (nginx's lingering close).
  m_socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  m_in.clear();
  size_t dropped = 0;
  arm(Waiting::client, k_linger_timeout);
  while (!ec && dropped < k_linger_bytes) {
    size_t n = co_await m_socket.async_read_some(m_in.prepare(k_body_read),
                                                 redirect_error(use_awaitable, ec));
    dropped += n;
    m_in.clear();
  }
  done_waiting();
}

asio::awaitable<Session::Send> Session::send_body(Millis timeout) {
  beast::error_code ec;
  while (true) {
    size_t n = 0;
    if (m_in.size() > 0) {
      n = m_req.put(m_in.data(), ec);
      if (ec && ec != http::error::need_more) {
        co_return Send::client_failed;  // a malformed body
      }
      if (n > 0) {
        m_iov.emplace_back(m_in.data().data(), n);
      }
    }
    if (!send_now(m_up->socket, ec)) {
      co_await send_rest(m_up->socket, Waiting::upstream, timeout, ec);
    }
    if (ec) {
      co_return ec == beast::error::timeout ? Send::upstream_timeout : Send::upstream_failed;
    }
    m_in.consume(n);
    if (m_req.done()) {
      co_return Send::ok;
    }
    arm(Waiting::client, k_client_timeout);
    size_t got = co_await m_socket.async_read_some(m_in.prepare(k_body_read),
                                                   redirect_error(use_awaitable, ec));
    m_in.commit(got);
    if (done_waiting() || ec) {
      co_return Send::client_failed;
    }
  }
}

asio::awaitable<bool> Session::serve() {
  const auto start = steady_clock::now();
  const size_t w = m_worker.index();
  const bool client_keep = m_req.keep_alive();
  const unsigned client_version = m_req.version();
  const bool head = m_req.method() == http::verb::head;
  const bool has_body = !m_req.done();
  const bool can_retry = idempotent(m_req.method()) && !has_body;
  beast::error_code ec;

  std::shared_ptr<WorkerTable> wt = m_env->current();
  EnvShared& env = *m_env->shared;
  bool keep = client_keep && !m_worker.stopping() && !env.closing.load(std::memory_order_relaxed);
  const Table* table = wt->balancer.table().get();
  const Millis timeout = table != nullptr ? table->routes.upstream_timeout : Millis(30000);
  // In maintenance every request gets the page: the one branch maintenance costs.
  const Maintenance* maintenance = table != nullptr ? table->maintenance.get() : nullptr;

  int status = 0;
  if (maintenance != nullptr) [[unlikely]] {
    status = 503;
  } else if (has_body && m_req.expects_continue()) {
    m_iov.assign(1, asio::buffer(k_continue));
    if (!send_now(m_socket, ec)) {
      co_await send_rest(m_socket, Waiting::client, k_client_timeout, ec);
    }
    if (ec) {
      co_return false;
    }
  }

  const RouteSet* set = nullptr;
  Backend* backend = nullptr;  // kept alive by `wt`'s table
  size_t index = 0;            // of `backend` in set->backends
  bool connect_failed = false;
  bool retried = false;
  bool aborted = false;    // the response was cut: close the client connection
  bool responded = false;  // the backend's response (or part of it) reached the client
  uint64_t bytes = 0;

  for (int attempt = 0; attempt < 4 && status == 0; ++attempt) {
    if (backend == nullptr) {
      auto pick = wt->balancer.pick();
      if (pick.backend == nullptr) {
        break;
      }
      set = pick.set;
      backend = pick.backend;
      index = pick.index;
    }
    bool reused = false;
    m_up.reset();
    if (!retried) {
      m_up = m_worker.take_idle(backend, !can_retry);
      reused = m_up != nullptr;
    }
    if (!m_up) {
      m_up = std::make_unique<Upstream>(m_worker.context(), set->backends[index]);
      arm(Waiting::upstream, timeout);
      co_await m_up->socket.async_connect(backend->endpoint(), redirect_error(use_awaitable, ec));
      bool timed_out = done_waiting();
      if (timed_out || ec) {
        set->stats->connect_error(w);
        backend->report_connect_error(timed_out ? ETIMEDOUT : ec.value());
        connect_failed = true;
        backend = nullptr;
        m_up.reset();
        continue;
      }
      m_up->socket.set_option(asio::ip::tcp::no_delay(true), ec);
      m_up->socket.non_blocking(true, ec);
    }

    backend->begin_request(w);
    Send sent = Send::ok;
    m_iov.assign(1, asio::buffer(m_req.upstream_head()));
    if (has_body) {
      sent = co_await send_body(timeout);
    } else {
      if (!send_now(m_up->socket, ec)) {
        co_await send_rest(m_up->socket, Waiting::upstream, timeout, ec);
      }
      if (ec) {
        sent = ec == beast::error::timeout ? Send::upstream_timeout : Send::upstream_failed;
      }
    }
    if (sent == Send::client_failed) {
      backend->end_request(w);
      m_up.reset();
      co_return false;
    }
    if (sent != Send::ok) {
      backend->end_request(w);
      m_up.reset();
      if (can_retry && !retried && sent != Send::upstream_timeout) {
        retried = true;
        if (!reused) {
          // A fresh connection failed: the backend itself is gone (e.g. killed); eject it and
          // let the request, which it never answered, go to another one.
          backend->report_connect_error(ECONNRESET);
          backend = nullptr;
        }
        continue;
      }
      if (sent == Send::upstream_timeout) {
        set->stats->timeout(w);
        status = 504;
      } else {
        status = 502;
      }
      break;
    }

    // The response head (interim 1xx answers skipped).
    m_res.reset(client_version, head);
    auto& in = m_up->buffer;
    while (true) {
      if (in.size() > 0) {
        size_t n = m_res.put(in.data(), ec);
        in.consume(n);
        if (ec != http::error::need_more) {
          break;
        }
      }
      arm(Waiting::upstream, timeout);
      size_t n = co_await m_up->socket.async_read_some(in.prepare(k_upstream_read),
                                                       redirect_error(use_awaitable, ec));
      in.commit(n);
      if (done_waiting()) {
        ec = beast::error::timeout;
      }
      if (ec) {
        if (ec == asio::error::eof && in.size() > 0) {
          ec = http::error::partial_message;
        }
        break;
      }
    }
    if (!ec && m_res.status() == 101) {
      ec = http::error::bad_status;  // protocol upgrades are not relayed
    }
    if (ec) {
      backend->end_request(w);
      m_up.reset();
      if (ec == beast::error::timeout) {
        set->stats->timeout(w);
        status = 504;
        break;
      }
      if (can_retry && !retried && stale_connection(ec)) {
        retried = true;
        if (!reused) {
          backend->report_connect_error(ECONNRESET);
          backend = nullptr;
        }
        continue;
      }
      status = 502;
      break;
    }

    // The head goes out with the body bytes already read; then the body as it arrives.
    const bool upstream_keep = m_res.backend_keep_alive();
    status = m_res.status();
    m_res.finish_head(keep, m_req.request_id());
    m_iov.assign(1, asio::buffer(m_res.client_head()));
    bool upstream_ok = true;
    bool head_sent = false;
    while (true) {
      size_t used = 0;
      if (!m_res.done() && in.size() > 0) {
        used = m_res.relay(in.data(), m_iov, ec);
        if (ec) {
          upstream_ok = false;  // a malformed body
          if (head_sent) {
            aborted = true;
          } else {
            status = 502;
          }
          break;
        }
      }
      if (!send_now(m_socket, ec)) {
        co_await send_rest(m_socket, Waiting::client, k_client_timeout, ec);
      }
      if (ec) {
        aborted = true;
        upstream_ok = m_res.done();
        break;
      }
      head_sent = true;
      in.consume(used);
      if (m_res.done()) {
        break;
      }
      arm(Waiting::upstream, timeout);
      size_t n = co_await m_up->socket.async_read_some(in.prepare(k_upstream_read),
                                                       redirect_error(use_awaitable, ec));
      in.commit(n);
      bool timed_out = done_waiting();
      if (!timed_out && ec == asio::error::eof) {
        m_iov.clear();
        m_res.relay_eof(m_iov, ec);  // a body ended by the close, or a cut one
        if (!ec) {
          upstream_ok = false;  // closed: not reusable
          if (!send_now(m_socket, ec)) {
            co_await send_rest(m_socket, Waiting::client, k_client_timeout, ec);
          }
          aborted = static_cast<bool>(ec);
          break;
        }
      }
      if (timed_out || ec) {
        upstream_ok = false;
        if (timed_out) {
          set->stats->timeout(w);
        }
        aborted = true;
        break;
      }
    }
    bytes = m_res.body_bytes();
    backend->end_request(w);
    if (upstream_ok && upstream_keep && m_res.done() && in.size() == 0) {
      m_worker.give_back(std::move(m_up));
    }
    m_up.reset();
    m_iov.clear();
    responded = head_sent || aborted;
    break;
  }

  if (status == 0) {
    status = connect_failed ? 502 : 503;
  }
  if (aborted) {
    keep = false;
  }
  if (!responded) {
    if (has_body && !m_req.done()) {
      keep = false;  // the unread body would be taken for the next request
    }
    std::string page = maintenance != nullptr
                           ? maintenance_response(*maintenance, m_req.request_id(), keep, head)
                           : error_response(status, m_req.request_id(), keep, head);
    bytes = page.size();
    m_iov.assign(1, asio::buffer(page));
    if (!send_now(m_socket, ec)) {
      co_await send_rest(m_socket, Waiting::client, k_client_timeout, ec);
    }
    if (ec) {
      keep = false;
    }
  }

  const auto end = steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(end - start).count();
  m_idle_since = end;
  if (set != nullptr) {
    set->stats->record(w, status, ms);
  } else {
    env.unrouted.record(w, status, ms);
  }
  if (env.access_log) {
    AccessEntry e;
    e.env = env.name;
    e.release = set != nullptr ? std::string_view(set->release) : std::string_view();
    e.backend = backend != nullptr ? std::string_view(backend->id()) : std::string_view();
    e.method = m_req.method_string();
    e.path = m_req.target();
    e.status = status;
    e.bytes = bytes;
    e.duration_ms = ms;
    e.request_id = m_req.request_id();
    e.client = m_client;
    format_access_line(m_env->log_buffer, e);
    if (m_env->log_buffer.size() > k_log_flush_bytes) {
      m_worker.flush_log(*m_env);
    }
  }
  co_return keep;
}

}  // namespace ztp::proxy
