#include "proxy/listener.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>

namespace ztp::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<tcp::endpoint> resolve_endpoint(const HostPort& address) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  if (!ec) {
    return tcp::endpoint(ip, address.port);
  }
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
  if (ec || results.empty()) {
    return make_error(Errc::unavailable, fmt::format("cannot resolve {}: {}", address.host,
                                                     ec ? ec.message() : "no address"));
  }
  return results.begin()->endpoint();
}

Result<std::shared_ptr<tcp::acceptor>> bind_listener(asio::io_context& ioc,
                                                     const tcp::endpoint& endpoint) {
  auto acc = std::make_shared<tcp::acceptor>(ioc);
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    return make_error(ec == asio::error::address_in_use ? Errc::conflict : Errc::internal,
                      fmt::format("cannot {} {}:{}: {}", what, endpoint.address().to_string(),
                                  endpoint.port(), ec.message()));
  };
  acc->open(endpoint.protocol(), ec);
  if (ec) {
    return fail("open a socket for");
  }
  acc->set_option(tcp::acceptor::reuse_address(true), ec);
  int one = 1;
  if (::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    ec = boost::system::error_code(errno, boost::system::system_category());
    return fail("set SO_REUSEPORT on");
  }
  acc->bind(endpoint, ec);
  if (ec) {
    return fail("bind");
  }
  acc->listen(4096, ec);
  if (ec) {
    return fail("listen on");
  }
  acc->non_blocking(true, ec);
  return acc;
}

Result<std::shared_ptr<tcp::acceptor>> adopt_listener(asio::io_context& ioc, int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return make_error(Errc::internal, "an inherited listener is not a socket");
  }
  auto protocol = addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4();
  auto acc = std::make_shared<tcp::acceptor>(ioc);
  boost::system::error_code ec;
  acc->assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return make_error(Errc::internal,
                      fmt::format("cannot adopt an inherited listener: {}", ec.message()));
  }
  acc->non_blocking(true, ec);
  return acc;
}

}  // namespace ztp::proxy
