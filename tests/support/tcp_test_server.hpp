#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace ztp::testing {

// A listener on 127.0.0.1 (OS-picked port) that runs `serve` on a thread per connection, then
// shuts the connection down. stop() (or the destructor) closes the listener and every connection
// and joins the threads; an owner declares it last so that it stops before the owner's other
// members go.
class TcpTestServer {
 public:
  using Serve = std::function<void(boost::asio::ip::tcp::socket&)>;

  explicit TcpTestServer(Serve serve);
  ~TcpTestServer();
  TcpTestServer(const TcpTestServer&) = delete;
  TcpTestServer& operator=(const TcpTestServer&) = delete;

  int port() const { return m_port; }
  // Connections accepted so far.
  int connections() const { return m_connections; }
  // Whether stop() began: a `serve` that loops over requests ends when it is true.
  bool stopped() const { return m_stopped; }
  void stop();

 private:
  void accept_loop();

  Serve m_serve;
  boost::asio::io_context m_ioc;
  boost::asio::ip::tcp::acceptor m_acceptor;
  int m_port = 0;
  std::atomic<bool> m_stopped{false};
  std::atomic<int> m_connections{0};
  std::thread m_accept_thread;
  std::mutex m_mu;
  std::vector<std::thread> m_threads;
  std::set<int> m_fds;
};

}  // namespace ztp::testing
