#include "proxy/session.hpp"

#include <fmt/format.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <limits>
#include <random>

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
constexpr size_t k_header_limit = 64 * 1024;
// Above this, a worker writes its access-log buffer at once instead of waiting for the timer.
constexpr size_t k_log_flush_bytes = 256 * 1024;

std::string generate_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

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
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message;
}

template <class Fields>
void strip_hop_by_hop(Fields& f) {
  f.erase(http::field::connection);
  f.erase(http::field::keep_alive);
  f.erase(http::field::proxy_connection);
  f.erase(http::field::te);
  f.erase(http::field::upgrade);
}

double ms_since(steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
}

}  // namespace

Session::Session(Worker& worker, std::shared_ptr<WorkerEnv> env, asio::ip::tcp::socket socket)
    : m_worker(worker), m_env(std::move(env)), m_stream(std::move(socket)) {
  beast::error_code ec;
  auto remote = m_stream.socket().remote_endpoint(ec);
  if (!ec) {
    m_client = remote.address().to_string();
  }
  m_worker.add_session(this);
}

Session::~Session() { m_worker.remove_session(this); }

asio::awaitable<void> Session::run(std::shared_ptr<Session> self) { co_await self->loop(); }

bool Session::close_if_idle(steady_clock::time_point now, steady_clock::duration grace) {
  if (!m_idle || now - m_idle_since < grace || m_buffer.size() > 0) {
    return false;
  }
  beast::error_code ec;
  if (m_stream.socket().available(ec) > 0) {
    return false;
  }
  m_stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  m_stream.socket().close(ec);
  return true;
}

asio::awaitable<void> Session::loop() {
  beast::error_code ec;
  while (true) {
    m_req.emplace();
    m_req->header_limit(k_header_limit);
    m_req->body_limit(std::numeric_limits<std::uint64_t>::max());
    m_idle = true;
    m_idle_since = steady_clock::now();
    m_stream.expires_after(k_idle_timeout);
    co_await http::async_read_header(m_stream, m_buffer, *m_req, redirect_error(use_awaitable, ec));
    m_idle = false;
    if (ec) {
      bool parse_error = ec.category() == beast::error_code(http::error::bad_method).category() &&
                         ec != http::error::end_of_stream && ec != http::error::partial_message;
      if (parse_error && m_stream.socket().is_open()) {
        co_await write_raw(error_response(400, generate_request_id(), false));
      }
      break;
    }
    if (!co_await serve()) {
      break;
    }
  }
  m_stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  m_stream.socket().close(ec);
}

asio::awaitable<bool> Session::write_raw(const std::string& data) {
  beast::error_code ec;
  m_stream.expires_after(k_client_timeout);
  co_await asio::async_write(m_stream, asio::buffer(data), redirect_error(use_awaitable, ec));
  co_return !ec;
}

void Session::prepare_request() {
  auto& req = m_req->get();
  auto rid = req["X-Request-Id"];
  if (rid.empty()) {
    m_request_id = generate_request_id();
    req.set("X-Request-Id", m_request_id);
  } else {
    m_request_id.assign(rid.data(), rid.size());
  }
  auto xff = req["X-Forwarded-For"];
  if (xff.empty()) {
    req.set("X-Forwarded-For", m_client);
  } else {
    std::string value(xff.data(), xff.size());
    value += ", ";
    value += m_client;
    req.set("X-Forwarded-For", value);
  }
  req.set("X-Forwarded-Proto", "http");
  strip_hop_by_hop(req);
  req.version(11);
}

asio::awaitable<Session::Send> Session::send_request(Upstream& up, bool has_body, Millis timeout) {
  auto& req = m_req->get();
  http::request_serializer<http::buffer_body> sr{req};
  beast::error_code ec;
  do {
    if (has_body && !m_req->is_done()) {
      req.body().data = m_body.data();
      req.body().size = m_body.size();
      m_stream.expires_after(k_client_timeout);
      co_await http::async_read_some(m_stream, m_buffer, *m_req, redirect_error(use_awaitable, ec));
      if (ec == http::error::need_buffer) {
        ec = {};
      }
      if (ec) {
        co_return Send::client_failed;
      }
      size_t n = m_body.size() - req.body().size;
      req.body().data = n > 0 ? m_body.data() : nullptr;
      req.body().size = n;
      req.body().more = !m_req->is_done();
    } else {
      req.body().data = nullptr;
      req.body().size = 0;
      req.body().more = false;
    }
    up.stream.expires_after(timeout);
    co_await http::async_write(up.stream, sr, redirect_error(use_awaitable, ec));
    if (ec == http::error::need_buffer) {
      ec = {};
    }
    if (ec) {
      co_return ec == beast::error::timeout ? Send::upstream_timeout : Send::upstream_failed;
    }
  } while (!sr.is_done());
  co_return Send::ok;
}

asio::awaitable<bool> Session::serve() {
  const auto start = steady_clock::now();
  const size_t w = m_worker.index();
  auto& req = m_req->get();
  const bool client_keep = req.keep_alive();
  const unsigned client_version = req.version();
  const bool head = req.method() == http::verb::head;
  const bool has_body = !m_req->is_done();
  const bool can_retry = idempotent(req.method()) && !has_body;
  beast::error_code ec;

  prepare_request();
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    req.erase(http::field::expect);
    if (has_body && !co_await write_raw("HTTP/1.1 100 Continue\r\n\r\n")) {
      co_return false;
    }
  }

  std::shared_ptr<WorkerTable> wt = m_env->current();
  EnvShared& env = *m_env->shared;
  bool keep = client_keep && !m_worker.stopping() && !env.closing.load(std::memory_order_relaxed);
  const Table* table = wt->balancer.table().get();
  const Millis timeout = table != nullptr ? table->routes.upstream_timeout : Millis(30000);

  int status = 0;
  uint64_t bytes = 0;
  const RouteSet* set = nullptr;
  std::shared_ptr<Backend> backend;
  bool connect_failed = false;
  bool retried = false;
  bool aborted = false;    // the response was cut: close the client connection
  bool responded = false;  // the backend's response (or part of it) reached the client

  for (int attempt = 0; attempt < 4 && status == 0; ++attempt) {
    if (!backend) {
      auto pick = wt->balancer.pick();
      if (pick.backend == nullptr) {
        break;
      }
      set = pick.set;
      backend = pick.set->backends[pick.index];
    }
    std::unique_ptr<Upstream> up;
    bool reused = false;
    if (!retried) {
      up = m_worker.take_idle(backend.get(), !can_retry);
      reused = up != nullptr;
    }
    if (!up) {
      up = std::make_unique<Upstream>(m_worker.context(), backend);
      up->stream.expires_after(timeout);
      co_await up->stream.async_connect(backend->endpoint(), redirect_error(use_awaitable, ec));
      if (ec) {
        set->stats->connect_error(w);
        backend->report_connect_error(ec == beast::error::timeout ? ETIMEDOUT : ec.value());
        connect_failed = true;
        backend.reset();
        continue;
      }
      up->stream.socket().set_option(asio::ip::tcp::no_delay(true), ec);
    }

    backend->begin_request(w);
    Send sent = co_await send_request(*up, has_body, timeout);
    if (sent == Send::client_failed) {
      backend->end_request(w);
      co_return false;
    }
    if (sent != Send::ok) {
      backend->end_request(w);
      if (can_retry && !retried && sent != Send::upstream_timeout) {
        retried = true;
        if (!reused) {
          // A fresh connection failed: the backend itself is gone (e.g. killed); eject it and
          // let the request, which it never answered, go to another one.
          backend->report_connect_error(ECONNRESET);
          backend.reset();
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

    m_res.emplace();
    m_res->body_limit(std::numeric_limits<std::uint64_t>::max());
    m_res->skip(head);
    up->stream.expires_after(timeout);
    co_await http::async_read_header(up->stream, up->buffer, *m_res,
                                     redirect_error(use_awaitable, ec));
    while (!ec && m_res->get().result_int() / 100 == 1 && m_res->get().result_int() != 101) {
      m_res.emplace();
      m_res->body_limit(std::numeric_limits<std::uint64_t>::max());
      m_res->skip(head);
      co_await http::async_read_header(up->stream, up->buffer, *m_res,
                                       redirect_error(use_awaitable, ec));
    }
    if (!ec && m_res->get().result_int() == 101) {
      ec = http::error::bad_status;  // protocol upgrades are not relayed
    }
    if (ec) {
      backend->end_request(w);
      if (ec == beast::error::timeout) {
        set->stats->timeout(w);
        status = 504;
        break;
      }
      if (can_retry && !retried && stale_connection(ec)) {
        retried = true;
        if (!reused) {
          backend->report_connect_error(ECONNRESET);
          backend.reset();
        }
        continue;
      }
      status = 502;
      break;
    }

    auto& res = m_res->get();
    const bool upstream_keep = res.keep_alive();
    strip_hop_by_hop(res);
    status = static_cast<int>(res.result_int());
    const bool bodyless = head || status == 204 || status == 304;
    if (!bodyless && !res.chunked() && !m_res->content_length()) {
      // The backend ends the body by closing: re-chunk it for HTTP/1.1 clients so their
      // connection stays usable; HTTP/1.0 clients read until we close.
      if (client_version >= 11) {
        res.chunked(true);
      } else {
        keep = false;
      }
    } else if (client_version < 11 && res.chunked()) {
      res.chunked(false);
      keep = false;
    }
    res.version(client_version);
    res.keep_alive(keep);
    if (res["X-Request-Id"].empty()) {
      res.set("X-Request-Id", m_request_id);
    }

    http::response_serializer<http::buffer_body> sr{res};
    bool upstream_ok = true;
    if (bodyless && m_res->is_done()) {
      // Headers only (a HEAD answer keeps its Content-Length / Transfer-Encoding).
      m_stream.expires_after(k_client_timeout);
      co_await http::async_write_header(m_stream, sr, redirect_error(use_awaitable, ec));
      if (ec) {
        aborted = true;
      }
    } else {
      do {
        if (!m_res->is_done()) {
          res.body().data = m_body.data();
          res.body().size = m_body.size();
          up->stream.expires_after(timeout);
          co_await http::async_read_some(up->stream, up->buffer, *m_res,
                                         redirect_error(use_awaitable, ec));
          if (ec == http::error::need_buffer) {
            ec = {};
          }
          if (ec) {
            upstream_ok = false;
            if (ec == beast::error::timeout) {
              set->stats->timeout(w);
            }
            if (!sr.is_header_done()) {
              status = ec == beast::error::timeout ? 504 : 502;
            } else {
              aborted = true;
            }
            break;
          }
          size_t n = m_body.size() - res.body().size;
          res.body().data = n > 0 ? m_body.data() : nullptr;
          res.body().size = n;
          res.body().more = !m_res->is_done();
          bytes += n;
        } else {
          res.body().data = nullptr;
          res.body().size = 0;
          res.body().more = false;
        }
        m_stream.expires_after(k_client_timeout);
        co_await http::async_write(m_stream, sr, redirect_error(use_awaitable, ec));
        if (ec == http::error::need_buffer) {
          ec = {};
        }
        if (ec) {
          aborted = true;
          upstream_ok = m_res->is_done();
          break;
        }
      } while (!sr.is_done());
    }
    backend->end_request(w);
    if (upstream_ok && upstream_keep && m_res->is_done() && up->buffer.size() == 0) {
      m_worker.give_back(std::move(up));
    }
    responded = upstream_ok || aborted;
    break;
  }

  if (status == 0) {
    status = connect_failed ? 502 : 503;
  }
  if (aborted) {
    keep = false;
  }
  if (!responded) {
    if (has_body && !m_req->is_done()) {
      keep = false;  // the unread body would be taken for the next request
    }
    std::string page = error_response(status, m_request_id, keep, head);
    bytes = page.size();
    if (!co_await write_raw(page)) {
      keep = false;
    }
  }

  double ms = ms_since(start);
  if (set != nullptr) {
    set->stats->record(w, status, ms);
  } else {
    env.unrouted.record(w, status, ms);
  }
  if (env.access_log) {
    AccessEntry e;
    e.env = env.name;
    e.release = set != nullptr ? std::string_view(set->release) : std::string_view();
    e.backend = backend ? std::string_view(backend->id()) : std::string_view();
    auto method = req.method_string();
    auto target = req.target();
    e.method = std::string_view(method.data(), method.size());
    e.path = std::string_view(target.data(), target.size());
    e.status = status;
    e.bytes = bytes;
    e.duration_ms = ms;
    e.request_id = m_request_id;
    e.client = m_client;
    format_access_line(m_env->log_buffer, e);
    if (m_env->log_buffer.size() > k_log_flush_bytes) {
      m_worker.flush_log(*m_env);
    }
  }
  co_return keep;
}

}  // namespace ztp::proxy
