#include "proxy/access_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <mutex>
#include <shared_mutex>

#include "sys/time.hpp"
#include "util/log.hpp"

namespace ztp::proxy {
namespace {

using namespace std::string_view_literals;

// Bytes a JSON string holds as they are: printable ASCII but the quote and the backslash.
constexpr auto k_plain = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x7f; ++c) {
    plain[static_cast<size_t>(c)] = c != '"' && c != '\\';
  }
  return plain;
}();

// Writes one line into memory sized beforehand (`out` grows once per line, and nothing is
// checked per byte but what JSON needs escaped).
class LineWriter {
 public:
  explicit LineWriter(char* p) : m_p(p) {}
  char* end() const { return m_p; }

  void raw(std::string_view s) {
    if (!s.empty()) {  // an empty view may hold a null pointer, which memcpy must not get
      std::memcpy(m_p, s.data(), s.size());
      m_p += s.size();
    }
  }
  void chr(char c) { *m_p++ = c; }
  // `s` as a JSON string; bytes other than printable ASCII are escaped (request targets
  // should be ASCII, and the line must stay valid JSON). At most 2 + 6 * s.size() bytes.
  void string(std::string_view s) {
    static constexpr char k_hex[] = "0123456789abcdef";
    chr('"');
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      auto u = static_cast<unsigned char>(s[i]);
      if (k_plain[u]) {
        continue;
      }
      raw(s.substr(run, i - run));
      run = i + 1;
      if (u == '"' || u == '\\') {
        chr('\\');
        chr(s[i]);
      } else {
        raw("\\u00"sv);
        chr(k_hex[u >> 4]);
        chr(k_hex[u & 0xf]);
      }
    }
    raw(s.substr(run));
    chr('"');
  }
  // At most 20 bytes.
  void number(uint64_t v) { m_p = std::to_chars(m_p, m_p + 20, v).ptr; }
  // "2026-01-02T03:04:05.678Z" (24 bytes); the part up to the seconds is formatted once per
  // second.
  void timestamp() {
    struct Cache {
      std::time_t second = -1;
      char text[24] = {};
    };
    thread_local Cache cache;
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    auto second = static_cast<std::time_t>(ms / 1000);
    if (second != cache.second) {
      // "2026-01-02T03:04:05Z": the first 19 bytes are the part up to the seconds.
      std::string whole = sys::format_rfc3339(now, sys::TimePrecision::seconds);
      std::memcpy(cache.text, whole.data(), 19);
      cache.text[19] = '.';
      cache.second = second;
    }
    raw(std::string_view(cache.text, 20));
    three_digits(static_cast<uint64_t>(ms % 1000));
    chr('Z');
  }
  void three_digits(uint64_t v) {
    chr(static_cast<char>('0' + v / 100 % 10));
    chr(static_cast<char>('0' + v / 10 % 10));
    chr(static_cast<char>('0' + v % 10));
  }

 private:
  // Bytes a JSON string holds as they are: printable ASCII but the quote and the backslash.
  static constexpr auto k_plain = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c < 0x7f; ++c) {
      plain[static_cast<size_t>(c)] = c != '"' && c != '\\';
    }
    return plain;
  }();

  char* m_p;
};

}  // namespace

AccessLog::AccessLog(std::filesystem::path path, AccessLogRotation rotation)
    : m_path(std::move(path)), m_rotation(rotation) {
  m_fd = open_file();
  if (m_fd < 0) {
    log::warn("cannot open the access log; its lines are dropped",
              {{"path", m_path.string()}, {"error", std::strerror(errno)}});
  }
}

AccessLog::~AccessLog() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

std::filesystem::path AccessLog::rotated(const std::filesystem::path& path, unsigned n) {
  if (n == 0) {
    return path;
  }
  std::filesystem::path out = path;
  out += "." + std::to_string(n);
  return out;
}

int AccessLog::open_file() const {
  return ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

bool AccessLog::append(std::string_view lines, bool wait) {
  std::shared_lock lock(m_mu, std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return false;
  }
  size_t off = 0;
  while (m_fd >= 0 && off < lines.size()) {
    ssize_t n = ::write(m_fd, lines.data() + off, lines.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

void AccessLog::swap_fd(int fd) {
  {
    std::unique_lock lock(m_mu);  // waits for the writers using the old descriptor
    std::swap(m_fd, fd);
  }
  if (fd >= 0) {
    ::close(fd);
  }
}

void AccessLog::maintain() {
  // Only this thread changes m_fd, so it reads it without the lock.
  struct stat open_st {};
  struct stat path_st {};
  bool moved = m_fd < 0 || ::fstat(m_fd, &open_st) != 0 || ::stat(m_path.c_str(), &path_st) != 0 ||
               path_st.st_ino != open_st.st_ino || path_st.st_dev != open_st.st_dev;
  if (moved) {
    // Moved or removed (logrotate), or never opened: start a new file at the path.
    int fd = open_file();
    if (fd >= 0) {
      swap_fd(fd);
    }
    return;
  }
  if (m_rotation.max_bytes > 0 && static_cast<uint64_t>(open_st.st_size) >= m_rotation.max_bytes) {
    rotate();
  }
}

void AccessLog::rotate() {
  const unsigned files = std::max(m_rotation.files, 2u);
  std::error_code ec;
  std::filesystem::remove(rotated(m_path, files - 1), ec);
  for (unsigned n = files - 2; n >= 1; --n) {
    std::filesystem::rename(rotated(m_path, n), rotated(m_path, n + 1), ec);  // may be missing
  }
  std::filesystem::rename(m_path, rotated(m_path, 1), ec);
  if (ec) {
    log::warn("cannot rotate the access log; it grows without bound from now on",
              {{"path", m_path.string()}, {"error", ec.message()}});
    m_rotation.max_bytes = 0;
    return;
  }
  // Writers keep appending to the renamed file until the new one is swapped in.
  int fd = open_file();
  if (fd < 0) {
    log::warn("cannot open the access log after rotating it; trying again",
              {{"path", m_path.string()}, {"error", std::strerror(errno)}});
    return;  // the next maintain() sees the path missing and opens it
  }
  swap_fd(fd);
}

void format_access_line(std::string& out, const AccessEntry& e) {
  const std::string_view strings[] = {e.env,  e.release,    e.backend, e.method,
                                      e.path, e.request_id, e.client};
  size_t bound = 256;  // the names, the punctuation, the timestamp and the numbers
  for (auto s : strings) {
    bound += 2 + 6 * s.size();
  }
  const size_t at = out.size();
  out.resize(at + bound);
  LineWriter w(out.data() + at);
  w.raw("{\"ts\":\""sv);
  w.timestamp();
  w.raw("\",\"env\":"sv);
  w.string(e.env);
  w.raw(",\"release\":"sv);
  w.string(e.release);
  w.raw(",\"backend\":"sv);
  w.string(e.backend);
  w.raw(",\"method\":"sv);
  w.string(e.method);
  w.raw(",\"path\":"sv);
  w.string(e.path);
  w.raw(",\"status\":"sv);
  w.number(static_cast<uint64_t>(std::max(e.status, 0)));
  w.raw(",\"bytes\":"sv);
  w.number(e.bytes);
  // Milliseconds with three decimals, from whole microseconds.
  auto us = static_cast<uint64_t>(std::llround(std::max(e.duration_ms, 0.0) * 1000));
  w.raw(",\"duration_ms\":"sv);
  w.number(us / 1000);
  w.chr('.');
  w.three_digits(us % 1000);
  w.raw(",\"request_id\":"sv);
  w.string(e.request_id);
  w.raw(",\"client\":"sv);
  w.string(e.client);
  w.raw("}\n"sv);
  out.resize(static_cast<size_t>(w.end() - out.data()));
}

}  // namespace ztp::proxy
