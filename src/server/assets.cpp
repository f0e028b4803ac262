#include "server/assets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>

#include "sys/crypto.hpp"

namespace ztp::server {
namespace {

// No inline script or style, no other origin: the page loads its own files and talks to its
// own API (fetch and EventSource), nothing else.
constexpr std::string_view k_csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view content_type_of(std::string_view file) {
  auto dot = file.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string_view() : file.substr(dot + 1);
  if (ext == "html") {
    return "text/html; charset=utf-8";
  }
  if (ext == "js" || ext == "mjs") {
    return "text/javascript; charset=utf-8";
  }
  if (ext == "css") {
    return "text/css; charset=utf-8";
  }
  if (ext == "svg") {
    return "image/svg+xml";
  }
  if (ext == "json") {
    return "application/json";
  }
  return "application/octet-stream";
}

// "\"<first 32 hex digits of the SHA-256>\"": the strong validator of one file's bytes.
std::string etag_of(std::string_view bytes) {
  return "\"" + sys::sha256_hex(bytes).substr(0, 32) + "\"";
}

struct Asset {
  std::string_view content;
  std::string etag;
  std::string_view content_type;
};

// The embedded files by path, each with its ETag, computed once.
const std::map<std::string, Asset, std::less<>>& assets() {
  static const auto table = [] {
    std::map<std::string, Asset, std::less<>> t;
    for (const auto& file : embedded_dashboard()) {
      t.emplace(std::string(file.path),
                Asset{file.content, etag_of(file.content), content_type_of(file.path)});
    }
    return t;
  }();
  return table;
}

// The dashboard file `path` asks for: "index.html" for the page, the name after "/assets/"
// (or "/") otherwise; "" for anything else.
std::string_view file_of(std::string_view path) {
  if (path == "/" || path == "/index.html") {
    return "index.html";
  }
  constexpr std::string_view k_prefix = "/assets/";
  if (path.starts_with(k_prefix)) {
    return path.substr(k_prefix.size());
  }
  if (path.starts_with("/") && path.find('/', 1) == std::string_view::npos) {
    return path.substr(1);
  }
  return {};
}

Response response_of(const Asset& asset, int status) {
  Response r;
  r.status = status;
  r.content_type = std::string(asset.content_type);
  if (status != 304) {
    r.body = std::string(asset.content);
  }
  r.headers = {{"ETag", asset.etag},
               {"Cache-Control", "no-cache"},
               {"Content-Security-Policy", std::string(k_csp)},
               {"X-Content-Type-Options", "nosniff"},
               {"X-Frame-Options", "DENY"},
               {"Referrer-Policy", "no-referrer"}};
  return r;
}

// The dashboard file `path` names, or nullptr.
const Asset* find_asset(std::string_view path) {
  const auto& table = assets();
  auto it = table.find(file_of(path));
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace

std::optional<Response> dashboard_asset(std::string_view path) {
  const Asset* asset = find_asset(path);
  if (asset == nullptr) {
    return std::nullopt;
  }
  return response_of(*asset, 200);
}

std::optional<Response> dashboard_asset(const Request& request) {
  const Asset* asset = request.method == "GET" ? find_asset(request.path) : nullptr;
  if (asset == nullptr) {
    return std::nullopt;
  }
  auto match = request.header("if-none-match");
  bool fresh = match == "*" || match.find(asset->etag) != std::string::npos;
  return response_of(*asset, fresh ? 304 : 200);
}

}  // namespace ztp::server
