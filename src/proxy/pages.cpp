#include "proxy/pages.hpp"

#include <fmt/format.h>

namespace ztp::proxy {
namespace {

std::string_view explanation(int status) {
  switch (status) {
    case 400:
      return "The request could not be parsed, or its framing or Host is ambiguous.";
    case 405:
      return "This method is not served here.";
    case 501:
      return "The request uses a transfer coding other than chunked.";
    case 502:
      return "The application could not be reached.";
    case 503:
      return "No healthy replica of the application is available right now.";
    case 504:
      return "The application did not answer in time.";
    default:
      return "The request failed.";
  }
}

}  // namespace

std::string_view reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 405:
      return "Method Not Allowed";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

std::string error_response(int status, std::string_view request_id, bool keep_alive, bool head) {
  std::string body = fmt::format(
      "<!doctype html>\n<html><head><title>{0} {1}</title></head>\n"
      "<body><h1>{0} {1}</h1><p>{2}</p><p>Request id: {3}</p></body></html>\n",
      status, reason(status), explanation(status), request_id);
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n"
      "Cache-Control: no-store\r\nX-Request-Id: {}\r\nConnection: {}\r\n\r\n",
      status, reason(status), body.size(), request_id, keep_alive ? "keep-alive" : "close");
  if (!head) {
    out += body;
  }
  return out;
}

}  // namespace ztp::proxy
