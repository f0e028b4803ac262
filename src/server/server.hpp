#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/api.hpp"
#include "server/http_server.hpp"
#include "server/http_types.hpp"

// `ztp serve`'s HTTP front: /api/v1/* (the API), POST /hooks/github (webhooks), GET /metrics,
// and the dashboard's page and assets, on one listener.
namespace ztp::server {

// The largest body POST /hooks/github takes: GitHub caps webhook payloads at 25 MB. Every
// other route keeps HttpServer's max_body_bytes (1 MiB).
inline constexpr size_t k_github_webhook_max_body = 25 * 1024 * 1024;

class Server {
 public:
  struct Options {
    HttpServer::Options http;  // listen address, workers, limits
    Api::Options api;          // workspace and the API's hooks
    // POST /hooks/github (no token: the handler checks the signature). Unset: 404.
    std::function<Response(const Request&)> github_webhook;
    // GET /metrics (no token), text/plain; version=0.0.4. Unset: 404.
    std::function<Response(const Request&)> metrics;
    // GET of any other path (no token): the dashboard's page and assets; nullopt: 404.
    std::function<std::optional<Response>(std::string_view path)> asset;
  };

  // Routes `options` and starts listening, with k_github_webhook_max_body for /hooks/github
  // unless options.http.body_limits names that path. Errors as HttpServer::start.
  static Result<std::unique_ptr<Server>> start(Options options);

  // Answers one request without a socket (what the listener calls for every request).
  static Response route(const Options& options, Api& api, const Request& req);

  // The bound port.
  int port() const { return m_http->port(); }
  // Stops the listener (requests in progress finish, event streams end). Idempotent.
  void stop() { m_http->stop(); }

 private:
  Server(Options options);
  Options m_options;
  Api m_api;
  std::unique_ptr<HttpServer> m_http;
};

}  // namespace ztp::server
