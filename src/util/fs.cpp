#include "util/fs.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ztp::fs {

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return make_error(Errc::not_found, fmt::format("{}: no such file", path.string()));
    }
    return make_error(Errc::internal,
                      fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Result<void> ensure_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return make_error(Errc::internal,
                      fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
  }
  return {};
}

Result<void> ensure_private_dir(const std::filesystem::path& dir) {
  ZTP_TRY(ensure_dir(dir));
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & 0777) != 0700 &&
      ::chmod(dir.c_str(), 0700) != 0) {
    return make_error(Errc::internal, fmt::format("{}: cannot make it private (chmod 0700): {}",
                                                  dir.string(), std::strerror(errno)));
  }
  return {};
}

Result<void> make_private(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 0777) == 0600) {
    return {};
  }
  if (::chmod(path.c_str(), 0600) != 0) {
    return make_error(Errc::internal, fmt::format("{}: cannot make it private (chmod 0600): {}",
                                                  path.string(), std::strerror(errno)));
  }
  return {};
}

Result<void> atomic_write(const std::filesystem::path& path, std::string_view content,
                          unsigned mode) {
  auto dir = path.parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  std::string tmp = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    return make_error(Errc::internal, fmt::format("{}: cannot create a temporary file: {}",
                                                  dir.string(), std::strerror(errno)));
  }
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return make_error(Errc::internal,
                      fmt::format("{}: {}: {}", path.string(), what, std::strerror(err)));
  };
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("write failed");
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) {
    return fail("chmod failed");
  }
  if (::fsync(fd) != 0) {
    return fail("fsync failed");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return make_error(Errc::internal,
                      fmt::format("{}: rename failed: {}", path.string(), std::strerror(err)));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

const std::filesystem::path& self_executable() {
  static const std::filesystem::path path = [] {
    const std::filesystem::path link = "/proc/self/exe";
    std::error_code ec;
    auto target = std::filesystem::read_symlink(link, ec);
    // A replaced binary reads as "PATH (deleted)": only the link still runs this program.
    if (ec || !target.is_absolute() || !std::filesystem::exists(target, ec)) {
      return link;
    }
    return target;
  }();
  return path;
}

}  // namespace ztp::fs
