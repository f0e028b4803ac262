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
// Connections tried for one request at most: backends that refuse the connection are ejected
// and another one picked, and a request whose connection broke may go once more.
constexpr int k_max_attempts = 4;

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

asio::awaitable<Session::Outcome> Session::send_body(Millis timeout) {
  beast::error_code ec;
  while (true) {
    size_t n = 0;
    if (m_in.size() > 0) {
      n = m_req.put(m_in.data(), ec);
      if (ec && ec != http::error::need_more) {
        co_return Outcome::client_failed;  // a malformed body
      }
      if (n > 0) {
        m_iov.emplace_back(m_in.data().data(), n);
      }
    }
    if (!send_now(m_up->socket, ec)) {
      co_await send_rest(m_up->socket, Waiting::upstream, timeout, ec);
    }
    if (ec) {
      co_return ec == beast::error::timeout ? Outcome::timed_out : Outcome::broken;
    }
    m_in.consume(n);
    if (m_req.done()) {
      co_return Outcome::ok;
    }
    arm(Waiting::client, k_client_timeout);
    size_t got = co_await m_socket.async_read_some(m_in.prepare(k_body_read),
                                                   redirect_error(use_awaitable, ec));
    m_in.commit(got);
    if (done_waiting() || ec) {
      co_return Outcome::client_failed;
    }
  }
}

Session::Exchange Session::begin_exchange() {
  Exchange x;
  x.start = steady_clock::now();
  x.has_body = !m_req.done();
  x.can_retry = idempotent(m_req.method()) && !x.has_body;
  x.table = m_env->current();
  const EnvShared& env = *m_env->shared;
  x.keep =
      m_req.keep_alive() && !m_worker.stopping() && !env.closing.load(std::memory_order_relaxed);
  const Table* table = x.table->balancer.table().get();
  x.timeout = table != nullptr ? table->routes.upstream_timeout : Millis(30000);
  // In maintenance every request gets the page: the one branch maintenance costs.
  x.maintenance = table != nullptr ? table->maintenance.get() : nullptr;
  return x;
}

bool Session::should_retry(const Exchange& x, Outcome outcome) {
  // Once, for an idempotent request without a body whose connection broke before a whole
  // answer head came (a pooled connection the backend had closed, or a backend gone): sending
  // it again is safe. A timeout is not retried: the backend is slow, not gone.
  return x.can_retry && !x.retried && outcome == Outcome::broken;
}

void Session::count_connect_error(Exchange& x, int error_value) {
  x.pick.set->stats->connect_error(m_worker.index());
  x.pick.backend->report_connect_error(error_value);
  x.connect_failed = true;
  x.pick.backend = nullptr;
  m_up.reset();
}

asio::awaitable<bool> Session::serve() {
  const size_t w = m_worker.index();
  beast::error_code ec;
  Exchange x = begin_exchange();

  // Step 1, pick and send: a backend, a connection to it (pooled or new), the head and body
  // up and the answer's head back, retried as should_retry() says.
  if (x.maintenance != nullptr) [[unlikely]] {
    x.status = 503;
  } else if (x.has_body && m_req.expects_continue()) {
    m_iov.assign(1, asio::buffer(k_continue));
    if (!send_now(m_socket, ec)) {
      co_await send_rest(m_socket, Waiting::client, k_client_timeout, ec);
    }
    if (ec) {
      co_return false;
    }
  }
  for (int attempt = 0; x.status == 0 && attempt < k_max_attempts; ++attempt) {
    if (x.pick.backend == nullptr) {
      Balancer::Pick pick = x.table->balancer.pick();
      if (pick.backend == nullptr) {
        break;  // nothing routable (left): 503, or 502 after refused connections
      }
      x.pick = pick;
    }
    Backend& backend = *x.pick.backend;

    // A pooled connection, or a new one (always new for the retry).
    m_up.reset();
    if (!x.retried) {
      m_up = m_worker.take_idle(&backend, !x.can_retry);
    }
    const bool reused = m_up != nullptr;
    if (!reused) {
      m_up = std::make_unique<Upstream>(m_worker.context(), x.pick.set->backends[x.pick.index]);
      arm(Waiting::upstream, x.timeout);
      co_await m_up->socket.async_connect(backend.endpoint(), redirect_error(use_awaitable, ec));
      const bool timed_out = done_waiting();
      if (timed_out || ec) {
        count_connect_error(x, timed_out ? ETIMEDOUT : ec.value());
        continue;
      }
      m_up->socket.set_option(asio::ip::tcp::no_delay(true), ec);
      m_up->socket.non_blocking(true, ec);
    }

    // The head and body go up.
    backend.begin_request(w);
    Outcome outcome = Outcome::ok;
    m_iov.assign(1, asio::buffer(m_req.upstream_head()));
    if (x.has_body) {
      outcome = co_await send_body(x.timeout);
    } else {
      if (!send_now(m_up->socket, ec)) {
        co_await send_rest(m_up->socket, Waiting::upstream, x.timeout, ec);
      }
      if (ec) {
        outcome = ec == beast::error::timeout ? Outcome::timed_out : Outcome::broken;
      }
    }

    // The answer's head comes back (interim 1xx answers skipped).
    if (outcome == Outcome::ok) {
      m_res.reset(m_req.version(), m_req.method() == http::verb::head);
      auto& in = m_up->buffer;
      while (true) {
        if (in.size() > 0) {
          size_t n = m_res.put(in.data(), ec);
          in.consume(n);
          if (ec != http::error::need_more) {
            break;
          }
        }
        arm(Waiting::upstream, x.timeout);
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
      if (ec == beast::error::timeout) {
        outcome = Outcome::timed_out;
      } else if (ec) {
        outcome = stale_connection(ec) ? Outcome::broken : Outcome::bad_answer;
      }
    }
    if (outcome == Outcome::ok) {
      x.answered = true;
      break;
    }

    backend.end_request(w);
    m_up.reset();
    if (outcome == Outcome::client_failed) {
      co_return false;
    }
    if (should_retry(x, outcome)) {
      x.retried = true;
      if (!reused) {
        // A fresh connection failed: the backend itself is gone (e.g. killed); eject it and
        // let the request, which it never answered, go to another one.
        backend.report_connect_error(ECONNRESET);
        x.pick.backend = nullptr;
      }
      continue;
    }
    if (outcome == Outcome::timed_out) {
      x.pick.set->stats->timeout(w);
      x.status = 504;
    } else {
      x.status = 502;
    }
  }

  // Step 2, respond: the backend's answer as it arrives, or the proxy's own page.

  if (x.answered) {
    // The head goes out with the body bytes already read; then the body as it arrives.
    auto& in = m_up->buffer;
    const bool upstream_keep = m_res.backend_keep_alive();
    x.status = m_res.status();
    m_res.finish_head(x.keep, m_req.request_id());
    m_iov.assign(1, asio::buffer(m_res.client_head()));
    bool reusable = true;  // the backend connection may go back to the pool
    bool head_sent = false;
    bool cut = false;  // the client got part of an answer: close its connection
    while (true) {
      size_t used = 0;
      if (!m_res.done() && in.size() > 0) {
        used = m_res.relay(in.data(), m_iov, ec);
        if (ec) {
          reusable = false;  // a malformed body
          if (head_sent) {
            cut = true;
          } else {
            x.status = 502;
          }
          break;
        }
      }
      if (!send_now(m_socket, ec)) {
        co_await send_rest(m_socket, Waiting::client, k_client_timeout, ec);
      }
      if (ec) {
        cut = true;
        reusable = m_res.done();
        break;
      }
      head_sent = true;
      in.consume(used);
      if (m_res.done()) {
        break;
      }
      arm(Waiting::upstream, x.timeout);
      size_t n = co_await m_up->socket.async_read_some(in.prepare(k_upstream_read),
                                                       redirect_error(use_awaitable, ec));
      in.commit(n);
      const bool timed_out = done_waiting();
      if (!timed_out && ec == asio::error::eof) {
        m_iov.clear();
        m_res.relay_eof(m_iov, ec);  // a body ended by the close, or a cut one
        if (!ec) {
          reusable = false;  // closed: not reusable
          if (!send_now(m_socket, ec)) {
            co_await send_rest(m_socket, Waiting::client, k_client_timeout, ec);
          }
          cut = static_cast<bool>(ec);
          break;
        }
      }
      if (timed_out || ec) {
        reusable = false;
        if (timed_out) {
          x.pick.set->stats->timeout(w);
        }
        cut = true;
        break;
      }
    }
    x.bytes = m_res.body_bytes();
    x.pick.backend->end_request(w);
    if (reusable && upstream_keep && m_res.done() && in.size() == 0) {
      m_worker.give_back(std::move(m_up));
    }
    m_up.reset();
    m_iov.clear();
    x.responded = head_sent || cut;
    if (cut) {
      x.keep = false;
    }
  }

  if (x.status == 0) {
    x.status = x.connect_failed ? 502 : 503;
  }
  if (!x.responded) {
    // The proxy's own page: maintenance, or why no backend answered.
    if (x.has_body && !m_req.done()) {
      x.keep = false;  // the unread body would be taken for the next request
    }
    const bool head = m_req.method() == http::verb::head;
    std::string page = x.maintenance != nullptr
                           ? maintenance_response(*x.maintenance, m_req.request_id(), x.keep, head)
                           : error_response(x.status, m_req.request_id(), x.keep, head);
    m_iov.assign(1, asio::buffer(page));
    if (!send_now(m_socket, ec)) {
      co_await send_rest(m_socket, Waiting::client, k_client_timeout, ec);
    }
    if (ec) {
      x.keep = false;
    }
    x.bytes = page.size();
  }

  // Step 3, finish: count and log.
  co_return finish(x);
}

bool Session::finish(const Exchange& x) {
  const size_t w = m_worker.index();
  EnvShared& env = *m_env->shared;
  const auto end = steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(end - x.start).count();
  m_idle_since = end;
  const RouteSet* set = x.pick.set;
  if (set != nullptr) {
    set->stats->record(w, x.status, ms);
  } else {
    env.unrouted.record(w, x.status, ms);
  }
  if (env.access_log) {
    AccessEntry e;
    e.env = env.name;
    e.release = set != nullptr ? std::string_view(set->release) : std::string_view();
    e.backend =
        x.pick.backend != nullptr ? std::string_view(x.pick.backend->id()) : std::string_view();
    e.method = m_req.method_string();
    e.path = m_req.target();
    e.status = x.status;
    e.bytes = x.bytes;
    e.duration_ms = ms;
    e.request_id = m_req.request_id();
    e.client = m_client;
    format_access_line(m_env->log_buffer, e);
    if (m_env->log_buffer.size() > k_log_flush_bytes) {
      m_worker.flush_log(*m_env);
    }
  }
  return x.keep;
}

}  // namespace ztp::proxy
