#pragma once

#include "proxy/coro.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/http_head.hpp"
#include "proxy/worker.hpp"

namespace ztp::proxy {

// One client connection of a worker: reads requests (keep-alive), forwards each to a backend
// picked by the balancer, relays bodies both ways as they arrive, and answers 502/503/504
// itself when no backend can serve; a request whose framing or Host it cannot trust is refused
// (400, 405, 501) and the connection closed. Never throws.
//
// The request path costs one receive and one gathered send per side in the common case: heads
// are rewritten while Beast parses them into buffers the connection reuses, a response's head
// goes out with the body bytes already read, and a send is tried at once before waiting. There
// are no per-operation timers: a session records the deadline of the one operation it waits
// for, and the worker's periodic sweep (expire()) closes the socket of an overdue one.
class Session {
 public:
  Session(Worker& worker, std::shared_ptr<WorkerEnv> env, boost::asio::ip::tcp::socket socket);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Serves the connection until it closes; `self` keeps the session alive meanwhile.
  static boost::asio::awaitable<void> run(std::shared_ptr<Session> self);

  // Worker thread: closes the connection when it has waited for a request for at least
  // `grace` and no bytes are pending; true when closed.
  bool close_if_idle(std::chrono::steady_clock::time_point now,
                     std::chrono::steady_clock::duration grace);
  // Worker thread: when the operation the session waits for is past its deadline, closes its
  // socket; the session then answers 504 (backend) or closes (client).
  void expire(std::chrono::steady_clock::time_point now);
  const WorkerEnv& env() const { return *m_env; }

 private:
  enum class Send { ok, client_failed, upstream_failed, upstream_timeout };
  enum class Waiting : uint8_t { none, client, upstream };

  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<bool> serve();
  boost::asio::awaitable<Send> send_body(Millis timeout);
  // Answers `status` for a request the proxy will not forward, then reads and drops what the
  // client still sends (bounded) so that closing does not reset the connection.
  boost::asio::awaitable<void> refuse(int status);
  // Sends what the socket takes of m_iov now, without waiting, and drops it from m_iov. True
  // when nothing is left to send or on an error (in `ec`).
  bool send_now(boost::asio::ip::tcp::socket& socket, boost::beast::error_code& ec);
  // Sends the rest of m_iov, waiting for the socket until now + `timeout` (timeout in `ec`).
  boost::asio::awaitable<void> send_rest(boost::asio::ip::tcp::socket& socket, Waiting what,
                                         std::chrono::steady_clock::duration timeout,
                                         boost::beast::error_code& ec);
  // Starts waiting for `what` until now + `timeout`; done_waiting() ends it and tells whether
  // the sweep found it overdue meanwhile (its socket is closed then).
  void arm(Waiting what, std::chrono::steady_clock::duration timeout);
  bool done_waiting();

  Worker& m_worker;
  std::shared_ptr<WorkerEnv> m_env;
  boost::asio::ip::tcp::socket m_socket;
  boost::beast::flat_buffer m_in;
  RequestHead m_req;
  ResponseHead m_res;
  std::unique_ptr<Upstream> m_up;  // the backend connection of the current request
  std::vector<boost::asio::const_buffer> m_iov;
  std::string m_client;
  std::string m_authority;  // the listener's host:port, as the client reached it
  Waiting m_waiting = Waiting::none;
  bool m_timed_out = false;
  bool m_idle = false;
  std::chrono::steady_clock::time_point m_deadline{};
  std::chrono::steady_clock::time_point m_idle_since{};
};

}  // namespace ztp::proxy
