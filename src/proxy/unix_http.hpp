#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/routes.hpp"
#include "util/result.hpp"

namespace ztp::proxy {

// A response of the admin API.
struct UnixHttpResponse {
  int status = 0;
  std::string body;
  std::vector<int> fds;  // descriptors passed with it (takeover only); the caller owns them
};

// One blocking HTTP/1.1 request over the unix socket `socket`, bounded by `timeout` as a
// whole. With `fd_count_key`, keeps reading after the response until the number of
// descriptors named by that key of the JSON body has arrived. unavailable when the socket
// does not answer (missing, refused, timed out, closed early).
Result<UnixHttpResponse> unix_http(const std::filesystem::path& socket, std::string_view method,
                                   std::string_view target, std::string_view body, Millis timeout,
                                   std::string_view fd_count_key = {});

// Sends `fds` over the connected unix socket `sock`, in batches with one byte each.
Result<void> send_fds(int sock, const std::vector<int>& fds, Millis timeout);

}  // namespace ztp::proxy
