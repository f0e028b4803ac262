#pragma once

// An in-process HTTP/1.1 server for tests of HTTP clients: answers every request with a
// handler and records what it received.
#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "support/tcp_test_server.hpp"

namespace ztp::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct FakeRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::int64_t head_length = -1;  // for HEAD: the Content-Length announced without a body
};

inline std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// An HTTP/1.1 server on 127.0.0.1 (OS-picked port), one thread per connection, keep-alive.
// Records every request.
class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeHttpServer(Handler handler) : m_handler(std::move(handler)) {}
  ~FakeHttpServer() { stop(); }
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return m_server.port(); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port()); }
  std::vector<FakeRequest> requests() const {
    std::lock_guard lock(m_mu);
    return m_requests;
  }
  // Requests whose method is `method` and whose path contains `part`.
  int count(const std::string& method, const std::string& part) const {
    int n = 0;
    for (const auto& r : requests()) {
      n += (r.method == method && r.path.find(part) != std::string::npos) ? 1 : 0;
    }
    return n;
  }
  int connections() const { return m_server.connections(); }

  void stop() { m_server.stop(); }

 private:
  void serve(asio::ip::tcp::socket& socket) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    while (!m_server.stopped()) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      http::read(socket, buffer, parser, ec);
      if (ec) {
        break;
      }
      auto& req = parser.get();
      FakeRequest r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      size_t q = r.target.find('?');
      r.path = r.target.substr(0, q);
      if (q != std::string::npos) {
        std::string_view rest = std::string_view(r.target).substr(q + 1);
        while (!rest.empty()) {
          std::string_view pair = rest.substr(0, rest.find('&'));
          size_t eq = pair.find('=');
          std::string key = percent_decode(pair.substr(0, eq));
          std::string value =
              eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
          // A repeated key (scope=a&scope=b) keeps every value, space separated.
          auto& slot = r.query[key];
          slot = slot.empty() ? value : slot + " " + value;
          rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
        }
      }
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        r.headers[name] = std::string(f.value());
      }
      r.body = req.body();
      {
        std::lock_guard lock(m_mu);
        m_requests.push_back(r);
      }
      FakeResponse answer = m_handler(r);
      http::response<http::string_body> res{static_cast<http::status>(answer.status),
                                            req.version()};
      for (const auto& [k, v] : answer.headers) {
        res.insert(k, v);
      }
      res.keep_alive(req.keep_alive());
      if (r.method == "HEAD") {
        res.content_length(answer.head_length >= 0 ? static_cast<uint64_t>(answer.head_length) : 0);
        http::response_serializer<http::string_body> sr{res};
        sr.split(true);
        http::write_header(socket, sr, ec);
      } else {
        res.body() = std::move(answer.body);
        res.prepare_payload();
        http::write(socket, res, ec);
      }
      if (ec || !req.keep_alive()) {
        break;
      }
    }
  }

  Handler m_handler;
  mutable std::mutex m_mu;
  std::vector<FakeRequest> m_requests;
  // Last: its connection threads call serve() until it stops.
  TcpTestServer m_server{[this](asio::ip::tcp::socket& s) { serve(s); }};
};

}  // namespace ztp::testing
