#pragma once

#include <string>
#include <string_view>

namespace ztp::proxy {

// A complete HTTP/1.1 response for an error the proxy answers itself (400, 405, 501, 502, 503,
// 504): a small HTML page with Content-Length, the request id, and Connection: close unless
// `keep_alive`. A HEAD request gets the headers only.
std::string error_response(int status, std::string_view request_id, bool keep_alive,
                           bool head = false);

// The reason phrase of the statuses above.
std::string_view reason(int status);

}  // namespace ztp::proxy
