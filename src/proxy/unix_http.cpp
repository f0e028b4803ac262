#include "proxy/unix_http.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

namespace ztp::proxy {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

constexpr size_t k_fd_batch = 200;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits until `fd` is ready for `events`; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) {
      return true;
    }
    if (n == 0 || errno != EINTR) {
      return false;
    }
  }
}

}  // namespace

Result<UnixHttpResponse> unix_http(const std::filesystem::path& socket, std::string_view method,
                                   std::string_view target, std::string_view body, Millis timeout,
                                   std::string_view fd_count_key) {
  auto deadline = Clock::now() + timeout;
  auto unavailable = [&](const std::string& why) {
    return make_error(Errc::unavailable,
                      fmt::format("proxy admin socket {}: {}; is `ztp proxy --state-dir {}` "
                                  "running?",
                                  socket.string(), why, socket.parent_path().string()));
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.native().size() >= sizeof addr.sun_path) {
    return make_error(Errc::invalid,
                      fmt::format("{}: socket path too long (max {} bytes): use a shorter "
                                  "state directory",
                                  socket.string(), sizeof addr.sun_path - 1));
  }
  std::memcpy(addr.sun_path, socket.c_str(), socket.native().size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return unavailable(std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return unavailable(std::strerror(errno));
    }
    if (!wait_fd(fd, POLLOUT, deadline)) {
      return unavailable("connect timed out");
    }
  }
  std::string request =
      fmt::format("{} {} HTTP/1.1\r\nHost: ztp-proxy\r\nConnection: close\r\n", method, target);
  if (!body.empty() || method == "PUT" || method == "POST") {
    request += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body.size());
  }
  request += "\r\n";
  request += body;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_fd(fd, POLLOUT, deadline)) {
        return unavailable(fmt::format("no answer within {} ms", timeout.count()));
      }
      continue;
    }
    return unavailable(std::strerror(errno));
  }

  UnixHttpResponse out;
  // Descriptors received belong to the caller only with a complete answer; on every error
  // return they are closed here.
  struct CloseUnlessKept {
    std::vector<int>& fds;
    bool keep = false;
    ~CloseUnlessKept() {
      for (size_t i = 0; !keep && i < fds.size(); ++i) {
        ::close(fds[i]);
      }
    }
  } received{out.fds};
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(64 * 1024 * 1024);
  std::string pending;
  size_t want_fds = 0;
  bool counted = false;
  bool eof = false;
  while (true) {
    if (parser.is_done()) {
      if (fd_count_key.empty()) {
        break;
      }
      if (!counted) {
        auto j = nlohmann::json::parse(parser.get().body(), nullptr, false);
        auto it = j.is_object() ? j.find(std::string(fd_count_key)) : j.end();
        want_fds = it != j.end() && it->is_number_unsigned() ? it->get<size_t>() : 0;
        counted = true;
      }
      if (out.fds.size() >= want_fds) {
        break;
      }
    }
    if (eof) {
      break;
    }
    if (!wait_fd(fd, POLLIN, deadline)) {
      return unavailable(fmt::format("no answer within {} ms", timeout.count()));
    }
    char buf[16384];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * k_fd_batch)];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      return unavailable(std::strerror(errno));
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const int* fds = reinterpret_cast<const int*>(CMSG_DATA(c));
        out.fds.insert(out.fds.end(), fds, fds + count);
      }
    }
    if (n == 0) {
      eof = true;
      if (!parser.is_done()) {
        boost::beast::error_code ec;
        parser.put_eof(ec);
      }
      continue;
    }
    if (parser.is_done()) {
      continue;  // the one-byte carriers of descriptors
    }
    pending.append(buf, static_cast<size_t>(n));
    while (!pending.empty() && !parser.is_done()) {
      boost::beast::error_code ec;
      size_t used = parser.put(boost::asio::buffer(pending), ec);
      if (ec == http::error::need_more) {
        ec = {};
      }
      if (ec) {
        return make_error(Errc::internal, fmt::format("proxy admin socket {}: bad response: {}",
                                                      socket.string(), ec.message()));
      }
      pending.erase(0, used);
      if (used == 0) {
        break;
      }
    }
  }
  if (!parser.is_done()) {
    return unavailable("the connection closed before a complete answer");
  }
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  received.keep = true;
  return out;
}

Result<void> send_fds(int sock, const std::vector<int>& fds, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  size_t off = 0;
  while (off < fds.size()) {
    size_t count = std::min(k_fd_batch, fds.size() - off);
    char byte = 'F';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * k_fd_batch)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * count);
    std::memcpy(CMSG_DATA(c), fds.data() + off, sizeof(int) * count);
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n == 1) {
      off += count;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_fd(sock, POLLOUT, deadline)) {
        return make_error(Errc::timeout, "passing the listeners timed out");
      }
      continue;
    }
    return make_error(Errc::internal,
                      fmt::format("passing the listeners failed: {}", std::strerror(errno)));
  }
  return {};
}

}  // namespace ztp::proxy
