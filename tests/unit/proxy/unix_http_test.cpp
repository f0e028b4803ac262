// The admin API's client over a unix socket: descriptors passed with an answer that then fails
// are closed, not leaked.
#include "proxy/unix_http.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "support/support.hpp"

namespace ztp::proxy {
namespace {

// How many descriptors this process has open.
size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

// Answers one request on a unix socket at `path` with `answer`, passing two descriptors (of
// /dev/null) along with its first byte, then closes everything it opened.
class OneAnswerServer {
 public:
  OneAnswerServer(const std::filesystem::path& path, std::string answer) {
    m_listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(m_listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(m_listener, 1), 0);
    m_thread = std::thread([this, answer = std::move(answer)] { serve(answer); });
  }
  ~OneAnswerServer() { m_thread.join(); }

 private:
  void serve(const std::string& answer) {
    int conn = ::accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC);
    char request[4096];
    [[maybe_unused]] auto got = ::recv(conn, request, sizeof request, 0);
    int passed[2] = {::open("/dev/null", O_RDONLY | O_CLOEXEC),
                     ::open("/dev/null", O_RDONLY | O_CLOEXEC)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof passed)] = {};
    iovec iov{const_cast<char*>(answer.data()), 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof passed);
    std::memcpy(CMSG_DATA(c), passed, sizeof passed);
    EXPECT_EQ(::sendmsg(conn, &msg, MSG_NOSIGNAL), 1);
    EXPECT_EQ(::send(conn, answer.data() + 1, answer.size() - 1, MSG_NOSIGNAL),
              static_cast<ssize_t>(answer.size() - 1));
    ::close(passed[0]);
    ::close(passed[1]);
    ::close(conn);
    ::close(m_listener);
  }

  int m_listener = -1;
  std::thread m_thread;
};

void expect_error_closes_what_came_with_it(const std::string& answer, const std::string& says) {
  testing::TempDir dir;
  auto socket = dir / "admin.sock";
  size_t before = open_fds();
  {
    OneAnswerServer server(socket, answer);
    auto r = unix_http(socket, "POST", "/takeover", "{}", Millis(5000), "listeners");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(open_fds(), before) << "descriptors passed with a failed answer were leaked";
}

TEST(UnixHttpTest, AMalformedAnswerClosesTheDescriptorsPassedWithIt) {
  expect_error_closes_what_came_with_it("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                                        "bad response");
}

TEST(UnixHttpTest, AnAnswerCutShortClosesTheDescriptorsPassedWithIt) {
  expect_error_closes_what_came_with_it("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
                                        "closed before a complete answer");
}

TEST(UnixHttpTest, ACompleteAnswerHandsTheDescriptorsToTheCaller) {
  testing::TempDir dir;
  auto socket = dir / "admin.sock";
  size_t before = open_fds();
  std::vector<int> fds;
  {
    OneAnswerServer server(socket,
                           "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"listeners\":2}");
    auto r = unix_http(socket, "POST", "/takeover", "{}", Millis(5000), "listeners");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    fds = r->fds;
  }
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(open_fds(), before + 2);
  for (int f : fds) {
    EXPECT_EQ(::fcntl(f, F_GETFD), FD_CLOEXEC);
    ::close(f);
  }
}

}  // namespace
}  // namespace ztp::proxy
