#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "server/http_types.hpp"
#include "util/result.hpp"

namespace ztp::server {

// The HTTP/1.1 server of `ztp serve` (Boost.Beast): one I/O thread accepts connections and
// reads requests (keep-alive, size limits, idle timeout); handlers run on a pool of worker
// threads, so a long handler (a rollback) never stalls other clients. Streaming responses
// (Response::stream) are polled on the workers at `stream_interval`.
class HttpServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:7070";  // host:port; port 0 picks a free one
    int workers = 8;
    size_t max_header_bytes = 16 * 1024;  // larger: 431
    size_t max_body_bytes = 1024 * 1024;  // larger: 413
    // Other limits for some paths (exact match, without the query), e.g. a webhook whose
    // sender posts more than max_body_bytes. A body over its limit is refused with 413 as soon
    // as its Content-Length is read, or as its chunks pass the limit, never held whole.
    std::map<std::string, size_t, std::less<>> body_limits;
    std::chrono::milliseconds idle_timeout{60000};  // a keep-alive connection left idle closes
    std::chrono::milliseconds stream_interval{200};
  };
  using Handler = std::function<Response(const Request&)>;

  // Binds `options.listen` and starts serving with `handler`. Errc::conflict when the address
  // is in use, Errc::invalid for a malformed address, naming it.
  static Result<std::unique_ptr<HttpServer>> start(const Options& options, Handler handler);

  // Stops accepting, lets requests in progress finish and streams end, then joins the threads.
  // Idempotent; the destructor calls it.
  void stop();
  ~HttpServer();

  // The bound port (useful with port 0).
  int port() const;

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ztp::server
