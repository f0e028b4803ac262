#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

// The request and response of the controller's HTTP server as plain values, so handlers (API,
// webhooks, metrics, dashboard assets) are functions that tests call without a socket.
namespace ztp::server {

struct Request {
  std::string method;                          // GET, POST, ...
  std::string target;                          // as sent: path and query
  std::string path;                            // decoded path without the query
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote;  // peer address, for the audit log

  // The header `name` (lower case) or "" when absent.
  std::string header(std::string_view name) const;
};

// A response body written as it comes (a text/event-stream). The server calls next() on a
// worker thread, again and again at its stream interval, until next() returns nullopt, the
// client leaves or the server stops.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // The bytes to send now ("" = nothing yet); nullopt ends the response.
  virtual std::optional<std::string> next() = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // Set: the body is ignored, the connection closes after the stream ends.
  std::shared_ptr<BodyStream> stream = nullptr;
};

// Splits a request target into its percent-decoded path and query parameters ('+' in the query
// is a space). A parameter given twice keeps its last value.
void parse_target(std::string_view target, std::string& path,
                  std::map<std::string, std::string>& query);

// A JSON response.
Response json_response(int status, const nlohmann::json& body);
// {"error": {"status": N, "message": "..."}}: every error the controller answers.
Response error_response(int status, std::string_view message);

}  // namespace ztp::server
