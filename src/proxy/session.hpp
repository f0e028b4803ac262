#pragma once

#include "proxy/coro.hpp"

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proxy/worker.hpp"

namespace ztp::proxy {

// One client connection of a worker: reads requests (keep-alive), forwards each to a backend
// picked by the balancer, streams bodies both ways in chunks through one reused buffer, and
// answers 502/503/504 itself when no backend can serve. Never throws.
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
  const WorkerEnv& env() const { return *m_env; }

 private:
  enum class Send { ok, client_failed, upstream_failed, upstream_timeout };

  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<bool> serve();
  boost::asio::awaitable<Send> send_request(Upstream& up, bool has_body, Millis timeout);
  boost::asio::awaitable<bool> write_raw(const std::string& data);
  void prepare_request();

  Worker& m_worker;
  std::shared_ptr<WorkerEnv> m_env;
  boost::beast::tcp_stream m_stream;
  boost::beast::flat_buffer m_buffer;
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> m_req;
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> m_res;
  std::array<char, 16384> m_body;
  std::string m_client;
  std::string m_request_id;
  bool m_idle = false;
  std::chrono::steady_clock::time_point m_idle_since{};
};

}  // namespace ztp::proxy
