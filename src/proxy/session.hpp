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
  // How sending a request upstream and reading the head of its answer ended.
  enum class Outcome : uint8_t {
    ok,             // sent; once the head was read, m_res holds it
    client_failed,  // the client broke off while its body was being read: close, count nothing
    broken,         // the connection broke before a whole answer head came back
    bad_answer,     // the answer's head was malformed, or a protocol upgrade (not relayed)
    timed_out,      // nothing within the upstream timeout
  };
  enum class Waiting : uint8_t { none, client, upstream };

  // One request on its way through the steps of serve().
  struct Exchange {
    std::chrono::steady_clock::time_point start;
    std::shared_ptr<WorkerTable> table;  // keeps `pick`'s set and backend alive
    const Maintenance* maintenance = nullptr;
    Millis timeout{};
    Balancer::Pick pick;  // the backend tried last; its backend is null once it failed
    int status = 0;       // 0 until known
    uint64_t bytes = 0;   // body bytes the client got
    bool keep = false;    // the client connection stays open after the answer
    bool has_body = false;
    bool can_retry = false;       // idempotent and without a body
    bool retried = false;         // the one retry was spent
    bool connect_failed = false;  // some backend refused the connection
    bool answered = false;        // m_res holds the head of a backend's answer, m_up its connection
    bool responded = false;       // the client got the answer, or part of it
  };

  boost::asio::awaitable<void> loop();
  // The state of the request m_req holds, as it begins.
  Exchange begin_exchange();
  // Serves the request m_req holds in three steps; false: close the connection.
  // 1. Pick and send: answers 100-continue, picks a backend, connects (or reuses a pooled
  //    connection), sends the head and body and reads the answer's head, retrying as
  //    should_retry() says, at most k_max_attempts connections in all.
  // 2. Respond: relays the backend's answer as it arrives (or the proxy's own page when none
  //    came) and pools the backend connection when it is reusable.
  // 3. Finish: finish().
  // One coroutine, not one per step: a request then holds one coroutine frame, as Asio 1.74
  // recycles a single frame per thread and every further frame is a malloc per request.
  boost::asio::awaitable<bool> serve();
  // Step 3: counts the request and writes its access-log line; returns whether the client
  // connection stays open.
  bool finish(const Exchange& x);
  // After a failed attempt: whether the request goes again on a fresh connection.
  static bool should_retry(const Exchange& x, Outcome outcome);
  // A connection to x.pick's backend could not be opened (`error_value`: errno): counts it,
  // ejects the backend and forgets it, so that the next attempt picks another.
  void count_connect_error(Exchange& x, int error_value);
  // Sends the request's body after m_iov (its head), reading it from the client as it comes.
  boost::asio::awaitable<Outcome> send_body(Millis timeout);
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
