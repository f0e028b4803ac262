#include "verify/curl_transport.hpp"

#include <algorithm>

#include "verify/expectations.hpp"

namespace ztp::verify {
namespace {

constexpr std::int64_t k_max_body = 4 * 1024 * 1024;

TransportError transport_error(sys::HttpFailure::Kind kind) {
  using Kind = sys::HttpFailure::Kind;
  switch (kind) {
    case Kind::refused:
      return TransportError::refused;
    case Kind::resolve:
      return TransportError::resolve;
    case Kind::timeout:
      return TransportError::timeout;
    case Kind::tls:
      return TransportError::tls;
    default:
      return TransportError::other;
  }
}

}  // namespace

void CurlTransport::start(uint64_t id, const Request& request) {
  sys::HttpRequest req;
  req.method = request.method;
  req.url = request.url;
  req.headers = request.headers;
  req.body = request.body;
  req.max_body = k_max_body;
  req.truncate = true;
  sys::HttpOptions options;
  options.timeout = request.timeout;
  options.connect_timeout = request.timeout;
  options.fresh_connection = true;
  options.cert_info = true;
  options.user_agent = "ztp-verify";
  m_timeouts[id] = request.timeout;
  m_multi.start(id, req, options);
}

std::vector<Completion> CurlTransport::wait(std::chrono::milliseconds timeout) {
  std::vector<Completion> out;
  for (auto& done : m_multi.wait(timeout)) {
    Response r;
    r.status = static_cast<int>(done.response.status);
    r.headers = std::move(done.response.headers);
    r.body = std::move(done.response.body);
    r.body_bytes = static_cast<size_t>(done.response.body_bytes);
    r.latency = done.response.elapsed;
    if (!done.response.cert_expiry.empty()) {
      r.cert_expiry = parse_cert_date(done.response.cert_expiry);
    }
    auto limit = m_timeouts[done.id];
    m_timeouts.erase(done.id);
    if (done.failure) {
      r.status = 0;
      r.error = transport_error(done.failure->kind);
      r.error_text = done.failure->text;
      if (r.error == TransportError::timeout) {
        r.latency = std::max(r.latency, limit);
      }
    }
    out.push_back(Completion{done.id, std::move(r)});
  }
  return out;
}

}  // namespace ztp::verify
