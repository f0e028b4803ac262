#include "proxy/health_probe.hpp"

#include <fmt/format.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace ztp::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

asio::awaitable<ProbeResult> probe_http(asio::ip::tcp::endpoint endpoint, std::string host,
                                        std::string path, Millis timeout) {
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  beast::error_code ec;
  auto failed = [&](const char* step) {
    if (ec == beast::error::timeout) {
      return ProbeResult{false, fmt::format("timeout after {} ms", timeout.count())};
    }
    return ProbeResult{false, fmt::format("{}: {}", step, ec.message())};
  };
  stream.expires_after(timeout);
  co_await stream.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return failed("connect");
  }
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "ztp-proxy-health");
  req.set(http::field::connection, "close");
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return failed("send");
  }
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return failed("read");
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  unsigned status = parser.get().result_int();
  if (status >= 200 && status < 400) {
    co_return ProbeResult{true, {}};
  }
  co_return ProbeResult{false, fmt::format("status {}", status)};
}

}  // namespace ztp::proxy
