#include "server/server.hpp"

#include <fmt/format.h>

#include "util/log.hpp"

namespace ztp::server {

Server::Server(Options options) : m_options(std::move(options)), m_api(m_options.api) {}

Result<std::unique_ptr<Server>> Server::start(Options options) {
  if (options.github_webhook) {
    options.http.body_limits.emplace("/hooks/github", k_github_webhook_max_body);
  }
  std::unique_ptr<Server> server(new Server(std::move(options)));
  auto* raw = server.get();
  ZTP_ASSIGN_OR_RETURN(server->m_http,
                       HttpServer::start(raw->m_options.http, [raw](const Request& req) {
                         Response res = route(raw->m_options, raw->m_api, req);
                         log::debug("request", {{"method", req.method},
                                                {"path", req.path},
                                                {"status", std::to_string(res.status)},
                                                {"remote", req.remote}});
                         return res;
                       }));
  return server;
}

Response Server::route(const Options& options, Api& api, const Request& req) {
  const std::string& path = req.path;
  if (path == "/api/v1" || path.starts_with("/api/v1/")) {
    return api.handle(req);
  }
  if (path == "/hooks/github" && options.github_webhook) {
    if (req.method != "POST") {
      auto res = error_response(405, "/hooks/github answers POST (GitHub push webhooks)");
      res.headers.emplace_back("Allow", "POST");
      return res;
    }
    return options.github_webhook(req);
  }
  if (path == "/metrics" && options.metrics) {
    if (req.method != "GET") {
      auto res = error_response(405, "/metrics answers GET");
      res.headers.emplace_back("Allow", "GET");
      return res;
    }
    return options.metrics(req);
  }
  if ((req.method == "GET" || req.method == "HEAD") && options.asset) {
    if (auto asset = options.asset(path)) {
      return *asset;
    }
  }
  return error_response(404, fmt::format("no route {} {}", req.method, path));
}

}  // namespace ztp::server
