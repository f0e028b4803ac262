#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "server/http_types.hpp"

// The dashboard of `ztp serve`: the files of src/server/dashboard/, built into the binary
// (cmake/embed_files.cmake) and served at `/` without a token; the page asks for one.
namespace ztp::server {

// One file of the dashboard: its path relative to src/server/dashboard/ and its bytes.
struct EmbeddedFile {
  std::string_view path;
  std::string_view content;
};

// Every file of the dashboard as it was when the binary was built, sorted by path; static data.
std::span<const EmbeddedFile> embedded_dashboard();

// The response for a GET of `path` when it names a dashboard file, else nullopt (the caller
// answers 404). "/" and "/index.html" are the page; "/assets/<file>" (or "/<file>") any other
// file. Every response carries its content type, an ETag (the SHA-256 of the bytes, quoted),
// `Cache-Control: no-cache` (the browser revalidates with If-None-Match), a strict
// Content-Security-Policy (only this origin's scripts, styles and API; no inline code),
// `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`.
std::optional<Response> dashboard_asset(std::string_view path);

// As above for a request: only GET; an If-None-Match naming the ETag (or "*") gives 304
// with no body.
std::optional<Response> dashboard_asset(const Request& request);

}  // namespace ztp::server
