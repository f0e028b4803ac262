#include "support/tcp_test_server.hpp"

#include <sys/socket.h>

namespace ztp::testing {

using boost::asio::ip::tcp;

TcpTestServer::TcpTestServer(Serve serve) : m_serve(std::move(serve)), m_acceptor(m_ioc) {
  tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
  m_acceptor.open(ep.protocol());
  m_acceptor.set_option(tcp::acceptor::reuse_address(true));
  m_acceptor.bind(ep);
  m_acceptor.listen();
  m_port = m_acceptor.local_endpoint().port();
  m_accept_thread = std::thread([this] { accept_loop(); });
}

TcpTestServer::~TcpTestServer() { stop(); }

void TcpTestServer::stop() {
  if (m_stopped.exchange(true)) {
    return;
  }
  // A blocked accept() returns once the listening socket is shut down; closing it alone would
  // not wake it.
  ::shutdown(m_acceptor.native_handle(), SHUT_RDWR);
  if (m_accept_thread.joinable()) {
    m_accept_thread.join();
  }
  boost::system::error_code ec;
  m_acceptor.close(ec);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(m_mu);
    for (int fd : m_fds) {
      ::shutdown(fd, SHUT_RDWR);
    }
    threads = std::move(m_threads);
  }
  for (auto& t : threads) {
    t.join();
  }
}

void TcpTestServer::accept_loop() {
  while (!m_stopped) {
    tcp::socket socket(m_ioc);
    boost::system::error_code ec;
    m_acceptor.accept(socket, ec);
    if (ec) {
      if (m_stopped) {
        return;
      }
      continue;
    }
    ++m_connections;
    std::lock_guard lock(m_mu);
    m_fds.insert(socket.native_handle());
    m_threads.emplace_back([this, s = std::move(socket)]() mutable {
      int fd = s.native_handle();
      m_serve(s);
      std::lock_guard lock(m_mu);
      m_fds.erase(fd);
      boost::system::error_code ignored;
      s.shutdown(tcp::socket::shutdown_both, ignored);
    });
  }
}

}  // namespace ztp::testing
