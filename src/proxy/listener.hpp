#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "proxy/routes.hpp"
#include "util/result.hpp"

namespace ztp::proxy {

// Resolves host:port to one TCP endpoint (a numeric address, else the first name lookup
// answer). unavailable when the name does not resolve.
Result<boost::asio::ip::tcp::endpoint> resolve_endpoint(const HostPort& address);

// A listening socket on `ioc` bound to `address` with SO_REUSEADDR and SO_REUSEPORT, so that
// every worker (and a proxy taking over) binds its own. conflict when the address is taken.
Result<std::shared_ptr<boost::asio::ip::tcp::acceptor>> bind_listener(
    boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint);

// Wraps an inherited listening descriptor (takes ownership of `fd`).
Result<std::shared_ptr<boost::asio::ip::tcp::acceptor>> adopt_listener(boost::asio::io_context& ioc,
                                                                       int fd);

}  // namespace ztp::proxy
