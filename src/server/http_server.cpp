#include "server/http_server.hpp"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>, and GCC 12
// reports a false -Wmismatched-new-delete on Asio's recycled coroutine frames.
#include <utility>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "spec/address.hpp"
#include "util/log.hpp"

namespace ztp::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;

namespace {

constexpr std::chrono::seconds k_write_timeout{30};
// How long a connection refused mid-request (413) is read and discarded before it closes, so
// that a client still sending its body receives the answer instead of a reset.
constexpr std::chrono::seconds k_linger{2};
constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";

Result<tcp::endpoint> resolve_listen(const std::string& listen) {
  // Port 0 (an OS-picked port) is not a valid spec address; parse the host alone.
  bool any_port = listen.size() > 2 && listen.ends_with(":0");
  auto parsed = spec::parse_listen(any_port ? listen.substr(0, listen.size() - 2) + ":1" : listen);
  if (!parsed.ok()) {
    return make_error(Errc::invalid,
                      fmt::format("--listen {}: {}", listen, parsed.error().message));
  }
  auto port = static_cast<unsigned short>(any_port ? 0 : parsed->port);
  beast::error_code ec;
  auto address = asio::ip::make_address(parsed->host, ec);
  if (!ec) {
    return tcp::endpoint(address, port);
  }
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto found = resolver.resolve(parsed->host, std::to_string(port), ec);
  if (ec || found.empty()) {
    return make_error(Errc::invalid, fmt::format("--listen {}: cannot resolve host {}: {}", listen,
                                                 parsed->host, ec.message()));
  }
  return found.begin()->endpoint();
}

std::string status_text(int status) {
  auto reason = http::obsolete_reason(static_cast<http::status>(status));
  return reason.empty() ? std::string("Unknown") : std::string(reason);
}

}  // namespace

struct HttpServer::Impl {
  Options options;
  Handler handler;
  std::mutex mu;
  std::condition_variable idle;
  int active = 0;  // requests read and not yet answered, streams included
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  asio::thread_pool pool;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread io_thread;
  int port = 0;

  Impl(Options o, Handler h)
      : options(std::move(o)), handler(std::move(h)), pool(std::max(1, options.workers)) {}

  // Counts a request in progress so that stop() waits for it.
  struct Active {
    explicit Active(Impl& impl) : m_impl(impl) {
      std::lock_guard lock(m_impl.mu);
      ++m_impl.active;
    }
    ~Active() {
      std::lock_guard lock(m_impl.mu);
      if (--m_impl.active == 0) {
        m_impl.idle.notify_all();
      }
    }
    Active(const Active&) = delete;
    Active& operator=(const Active&) = delete;
    Impl& m_impl;
  };

  Response call_handler(const Request& req) {
    try {
      return handler(req);
    } catch (const std::exception& e) {
      log::error("request handler failed", {{"path", req.path}, {"error", e.what()}});
      return error_response(
          500, fmt::format("{} {}: internal error: {}", req.method, req.path, e.what()));
    }
  }

  awaitable<Response> on_worker(const Request& req) {
    co_return co_await asio::co_spawn(
        pool, [this, &req]() -> awaitable<Response> { co_return call_handler(req); },
        asio::use_awaitable);
  }

  awaitable<std::optional<std::string>> pull(BodyStream& stream) {
    co_return co_await asio::co_spawn(
        pool,
        [&stream]() -> awaitable<std::optional<std::string>> {
          try {
            co_return stream.next();
          } catch (const std::exception& e) {
            log::error("response stream failed", {{"error", e.what()}});
            co_return std::nullopt;
          }
        },
        asio::use_awaitable);
  }

  awaitable<void> write_plain(beast::tcp_stream& stream, const Response& res, unsigned version,
                              bool keep_alive, beast::error_code& ec) {
    http::response<http::string_body> out{static_cast<http::status>(res.status), version};
    out.set(http::field::content_type, res.content_type);
    out.set(http::field::server, "ztp");
    for (const auto& [name, value] : res.headers) {
      out.set(name, value);
    }
    out.body() = res.body;
    out.keep_alive(keep_alive);
    out.prepare_payload();
    stream.expires_after(k_write_timeout);
    co_await http::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
  }

  // Writes the head, then whatever the stream yields, until it ends, the client leaves (a
  // write fails) or the server stops.
  awaitable<void> write_stream(beast::tcp_stream& stream, const Response& res) {
    std::string head = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nCache-Control: no-cache\r\nConnection: "
        "close\r\nX-Accel-Buffering: no\r\n",
        res.status, status_text(res.status), res.content_type);
    for (const auto& [name, value] : res.headers) {
      head += fmt::format("{}: {}\r\n", name, value);
    }
    head += "\r\n";
    beast::error_code ec;
    stream.expires_after(k_write_timeout);
    co_await asio::async_write(stream, asio::buffer(head),
                               asio::redirect_error(asio::use_awaitable, ec));
    asio::steady_timer timer(ioc);
    while (!ec && !stopping) {
      auto chunk = co_await pull(*res.stream);
      if (!chunk) {
        break;
      }
      if (!chunk->empty()) {
        stream.expires_after(k_write_timeout);
        co_await asio::async_write(stream, asio::buffer(*chunk),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      timer.expires_after(options.stream_interval);
      beast::error_code wait_ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
    }
  }

  size_t body_limit(std::string_view target) const {
    std::string_view path = target.substr(0, target.find('?'));
    auto it = options.body_limits.find(path);
    return it == options.body_limits.end() ? options.max_body_bytes : it->second;
  }

  size_t largest_body_limit() const {
    size_t out = options.max_body_bytes;
    for (const auto& [path, limit] : options.body_limits) {
      out = std::max(out, limit);
    }
    return out;
  }

  // Stops sending, then reads and drops what the client still sends for a while (a lingering
  // close, as nginx does) before the connection is closed.
  awaitable<void> linger(beast::tcp_stream& stream) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(k_linger);
    std::array<char, 16 * 1024> scratch;
    while (!ec && !stopping) {
      co_await stream.async_read_some(asio::buffer(scratch),
                                      asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  awaitable<void> session(tcp::socket socket) {
    beast::error_code ec;
    auto peer = socket.remote_endpoint(ec);
    std::string remote =
        ec ? std::string() : fmt::format("{}:{}", peer.address().to_string(), peer.port());
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      // The path is known only once the head is read; its own limit applies from there on.
      parser.body_limit(largest_body_limit());
      stream.expires_after(options.idle_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      auto target = parser.get().target();
      size_t limit = body_limit(std::string_view(target.data(), target.size()));
      if (!ec && parser.content_length() && *parser.content_length() > limit) {
        ec = http::error::body_limit;
      }
      if (!ec && !parser.is_done()) {
        parser.body_limit(limit);
        if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
          co_await asio::async_write(stream, asio::buffer(k_continue),
                                     asio::redirect_error(asio::use_awaitable, ec));
        }
        stream.expires_after(options.idle_timeout);
        if (!ec) {
          co_await http::async_read(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
        }
      }
      if (ec) {
        int status = 0;
        std::string message;
        if (ec == http::error::body_limit) {
          status = 413;
          message = fmt::format("request body larger than {} bytes", limit);
        } else if (ec == http::error::header_limit) {
          status = 431;
          message = fmt::format("request head larger than {} bytes", options.max_header_bytes);
        } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                   ec != http::error::end_of_stream && ec != http::error::partial_message) {
          status = 400;
          message = "malformed HTTP request: " + ec.message();
        }
        if (status != 0) {
          {
            Active counted(*this);
            co_await write_plain(stream, error_response(status, message), 11, false, ec);
          }
          if (!ec) {
            co_await linger(stream);
          }
          stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        }
        co_return;
      }
      Active counted(*this);
      auto& msg = parser.get();
      Request req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      parse_target(req.target, req.path, req.query);
      for (const auto& field : msg) {
        std::string name(field.name_string());
        for (auto& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        req.headers[name] = std::string(field.value());
      }
      req.body = std::move(msg.body());
      req.remote = remote;
      bool keep_alive = msg.keep_alive();
      unsigned version = msg.version();
      Response res = co_await on_worker(req);
      if (res.stream) {
        co_await write_stream(stream, res);
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        co_return;
      }
      keep_alive = keep_alive && !stopping;
      co_await write_plain(stream, res, version, keep_alive, ec);
      if (ec || !keep_alive) {
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        co_return;
      }
    }
  }

  awaitable<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping || ec == asio::error::operation_aborted) {
        co_return;
      }
      if (ec) {
        // Out of descriptors, most likely: wait for connections to close rather than spin.
        log::warn("accepting a connection failed", {{"error", ec.message()}});
        asio::steady_timer timer(ioc, std::chrono::milliseconds(100));
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
    }
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::start(const Options& options, Handler handler) {
  tcp::endpoint endpoint;
  ZTP_ASSIGN_OR_RETURN(endpoint, resolve_listen(options.listen));
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  beast::error_code ec;
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    impl->acceptor.bind(endpoint, ec);
  }
  if (ec == asio::error::address_in_use) {
    return make_error(
        Errc::conflict,
        fmt::format("cannot listen on {}: the address is in use (another ztp serve?); "
                    "stop it or choose another address with --listen",
                    options.listen));
  }
  if (!ec) {
    impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return make_error(Errc::unavailable,
                      fmt::format("cannot listen on {}: {}", options.listen, ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  asio::co_spawn(impl->ioc, impl->accept_loop(), asio::detached);
  impl->io_thread = std::thread([raw = impl.get()] { raw->ioc.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::stop() {
  if (!m_impl || m_impl->stopped.exchange(true)) {
    return;
  }
  auto& impl = *m_impl;
  impl.stopping = true;
  asio::post(impl.ioc, [&impl] {
    beast::error_code ec;
    impl.acceptor.close(ec);
  });
  {
    std::unique_lock lock(impl.mu);
    impl.idle.wait(lock, [&impl] { return impl.active == 0; });
  }
  impl.ioc.stop();
  if (impl.io_thread.joinable()) {
    impl.io_thread.join();
  }
  impl.pool.join();
}

int HttpServer::port() const { return m_impl->port; }

}  // namespace ztp::server
