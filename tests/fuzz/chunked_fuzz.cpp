// Fuzzes the proxy's chunked framing. The first input byte sets the size of the reads (0: one
// read of everything); the rest is a body, read three ways:
// - as the chunked body of a client request (RequestHead::put, which finds where it ends);
// - as the chunked body of a backend response relayed to an HTTP/1.0 client, decoded
//   (ResponseHead::relay, Framing::dechunk): what comes out is what body_bytes() counts;
// - as a body the backend ends by closing, re-chunked for an HTTP/1.1 client
//   (Framing::chunk): decoding that again must give back the very bytes, and a request parser
//   must find its end exactly.
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http_head.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using ztp::proxy::Framing;
using ztp::proxy::RequestHead;
using ztp::proxy::ResponseHead;

constexpr std::string_view k_request_head =
    "POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view k_chunked_response =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view k_close_response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

size_t read_size(size_t step, size_t left) { return step == 0 ? left : std::min(step, left); }

// Feeds `body` after the chunked request head; returns the body bytes consumed when the
// request was complete, npos when it was not (more needed, or malformed).
size_t request_body(std::string_view body, size_t step) {
  RequestHead req;
  req.reset("192.0.2.1");
  boost::beast::error_code ec;
  size_t n = req.put(asio::buffer(k_request_head.data(), k_request_head.size()), ec);
  check(!ec && n == k_request_head.size() && req.header_done() && !req.done());
  std::string buf;
  size_t used = 0;
  size_t sent = 0;
  while (!req.done()) {
    if (!buf.empty()) {
      n = req.put(asio::buffer(buf.data(), buf.size()), ec);
      check(n <= buf.size());
      buf.erase(0, n);
      used += n;
      if (ec && ec != http::error::need_more) {
        check(req.refusal() == 400);
        return std::string_view::npos;
      }
      if (req.done()) {
        break;
      }
      if (n > 0) {
        continue;
      }
    }
    if (sent == body.size()) {
      return std::string_view::npos;
    }
    size_t k = read_size(step, body.size() - sent);
    buf.append(body.substr(sent, k));
    sent += k;
  }
  return used;
}

// Relays `body` after `head` as a backend's answer to a client of HTTP version
// `client_version`; returns what the client gets after the head, and whether the body was
// complete.
std::string relay(std::string_view head, std::string_view body, unsigned client_version,
                  size_t step, bool& complete, Framing& framing) {
  ResponseHead res;
  res.reset(client_version, false);
  boost::beast::error_code ec;
  size_t n = res.put(asio::buffer(head.data(), head.size()), ec);
  check(!ec && n == head.size() && res.header_done());
  bool keep = true;
  res.finish_head(keep, "0123456789abcdef0123456789abcdef");
  framing = res.framing();
  std::string out;
  std::string buf;
  std::vector<asio::const_buffer> iov;
  size_t sent = 0;
  complete = false;
  while (!res.done()) {
    if (buf.empty() || n == 0) {
      if (sent == body.size()) {
        break;
      }
      size_t k = read_size(step, body.size() - sent);
      buf.append(body.substr(sent, k));
      sent += k;
    }
    iov.clear();
    n = res.relay(asio::buffer(buf.data(), buf.size()), iov, ec);
    check(n <= buf.size());
    for (const auto& b : iov) {
      out.append(static_cast<const char*>(b.data()), b.size());
    }
    buf.erase(0, n);
    if (ec) {
      return out;
    }
  }
  if (res.done()) {
    complete = true;
    return out;
  }
  iov.clear();
  res.relay_eof(iov, ec);
  for (const auto& b : iov) {
    out.append(static_cast<const char*>(b.data()), b.size());
  }
  complete = !ec;
  if (framing == Framing::dechunk || framing == Framing::chunk) {
    check(!complete || res.body_bytes() <= out.size());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const size_t step = data[0];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  size_t used = request_body(body, step);
  check(used == std::string_view::npos || used <= body.size());

  bool complete = false;
  Framing framing = Framing::as_received;
  std::string decoded = relay(k_chunked_response, body, 10, step, complete, framing);
  check(framing == Framing::dechunk);
  check(decoded.size() <= body.size());

  std::string rechunked = relay(k_close_response, body, 11, step, complete, framing);
  check(framing == Framing::chunk && complete);
  std::string again = relay(k_chunked_response, rechunked, 10, step, complete, framing);
  check(complete && again == body);
  check(request_body(rechunked, step) == rechunked.size());
  return 0;
}
