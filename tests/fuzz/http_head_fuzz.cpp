// Fuzzes the proxy's reading of client requests (proxy::RequestHead) as a connection does: the
// first input byte sets the size of the reads (0: one read of everything), the rest is what the
// client sends, pipelined requests included. A head is either refused with 400, 405 or 501, or
// gives an upstream head that is one well-formed block; bodies are consumed to their end.
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/http_head.hpp"

namespace {

namespace http = boost::beast::http;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

// The client's bytes, handed out one read at a time.
class Reads {
 public:
  Reads(std::string_view bytes, size_t step) : m_bytes(bytes), m_step(step) {}
  // Appends the next read to `buf`; false when the client has sent everything.
  bool next(std::string& buf) {
    if (m_bytes.empty()) {
      return false;
    }
    size_t n = m_step == 0 ? m_bytes.size() : std::min(m_step, m_bytes.size());
    buf.append(m_bytes.substr(0, n));
    m_bytes.remove_prefix(n);
    return true;
  }

 private:
  std::string_view m_bytes;
  size_t m_step;
};

// Puts `buf` into `req` until put() stops asking for more: false when the connection ends
// (the client has no more bytes, or the request was refused).
bool put_until(ztp::proxy::RequestHead& req, std::string& buf, Reads& reads, bool body) {
  while (true) {
    boost::beast::error_code ec;
    size_t n = 0;
    if (!buf.empty()) {
      n = req.put(boost::asio::buffer(buf.data(), buf.size()), ec);
      check(n <= buf.size());
      buf.erase(0, n);
      if (ec && ec != http::error::need_more) {
        const int status = req.refusal();
        check(status == 400 || status == 405 || status == 501);
        return false;
      }
      if (!ec && (body ? req.done() : req.header_done())) {
        return true;
      }
    }
    if (n == 0 && !reads.next(buf)) {
      return false;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  Reads reads(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), data[0]);
  ztp::proxy::RequestHead req;
  std::string buf;
  for (int request = 0; request < 16; ++request) {
    req.reset("192.0.2.1", request % 2 == 0 ? "front.test:8080" : "");
    if (!put_until(req, buf, reads, false)) {
      return 0;
    }
    check(req.header_done() && req.refusal() == 0);
    const std::string& head = req.upstream_head();
    check(head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0);
    check(head.starts_with(req.method_string()));
    check(head.find("\r\n") > req.method_string().size() + req.target().size());
    check(head.find("\r\nX-Request-Id: ") != std::string::npos || !req.request_id().empty());
    (void)req.keep_alive();
    (void)req.expects_continue();
    if (!req.done() && !put_until(req, buf, reads, true)) {
      return 0;
    }
  }
  return 0;
}
