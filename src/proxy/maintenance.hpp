#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "util/result.hpp"

// The maintenance mode of one environment: while it is on, the front door answers every
// request with a 503 maintenance page and Retry-After, and the routes and replicas stay as
// they are. Set and cleared through the admin API (`PUT`/`DELETE /v1/envs/{env}/maintenance`),
// kept with the routes in routes.json.
namespace ztp::proxy {

struct Maintenance {
  std::string message;      // shown on the page (HTML-escaped); empty: a generic sentence
  int retry_after_s = 300;  // the Retry-After header
  int64_t since_ms = 0;     // unix milliseconds when it was switched on (set by the proxy)

  bool operator==(const Maintenance&) const = default;
};

// Reads the admin API's JSON ({"message", "retry_after_s", "since_ms"}), with defaults for
// absent fields. invalid with "maintenance.field: reason" on the first problem.
Result<Maintenance> maintenance_from_json(const nlohmann::json& j);
// Same, from text; invalid when it is not JSON.
Result<Maintenance> maintenance_from_text(std::string_view text);
// The JSON form (the admin API's and routes.json's).
nlohmann::json to_json(const Maintenance& m);

// A complete HTTP/1.1 503 response for the maintenance page of `m`, with Retry-After, the
// request id, and Connection: close unless `keep_alive`. A HEAD request gets the headers only.
std::string maintenance_response(const Maintenance& m, std::string_view request_id, bool keep_alive,
                                 bool head = false);

}  // namespace ztp::proxy
