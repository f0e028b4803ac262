#include "support/registry_server.hpp"

#include "support/support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace ztp::testing {
namespace {

constexpr int k_start_attempts = 3;

std::string config_yaml(const std::filesystem::path& dir, int port, bool htpasswd) {
  std::ostringstream c;
  c << "version: 0.1\n"
    << "log:\n"
    << "  level: info\n"
    << "  accesslog:\n"
    << "    disabled: false\n"
    << "storage:\n"
    << "  filesystem:\n"
    << "    rootdirectory: " << (dir / "storage").string() << "\n"
    << "  delete:\n"
    << "    enabled: true\n"
    << "  maintenance:\n"
    << "    uploadpurging:\n"
    << "      enabled: false\n"
    << "http:\n"
    << "  addr: 127.0.0.1:" << port << "\n"
    << "  secret: ztp-test-registry-secret\n";
  if (htpasswd) {
    c << "auth:\n"
      << "  htpasswd:\n"
      << "    realm: ztp-test\n"
      << "    path: " << (dir / "htpasswd").string() << "\n";
  }
  return c.str();
}

bool exited(int pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

RegistryServer::RegistryServer() : RegistryServer(Options{}) {}

RegistryServer::RegistryServer(Options options) : m_dir(m_tmp.path()) {
  if (find_tool("docker-registry").empty()) {
    m_error =
        "'docker-registry' is not installed: run `apt-get install docker-registry` (or "
        "scripts/install-deps.sh)";
    return;
  }
  if (!options.htpasswd.empty()) {
    write_text(m_dir / "htpasswd", options.htpasswd);
  }
  // free_port() may race with another process taking the port: try a few.
  for (int attempt = 0; attempt < k_start_attempts; ++attempt) {
    m_error.clear();
    if (start(options)) {
      return;
    }
    stop();
  }
}

RegistryServer::~RegistryServer() { stop(); }

bool RegistryServer::start(const Options& options) {
  m_port = free_port();
  auto config = m_dir / "config.yml";
  write_text(config, config_yaml(m_dir, m_port, !options.htpasswd.empty()));
  auto log_path = m_dir / "registry.log";
  std::string binary = find_tool("docker-registry");
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    m_error = "cannot create " + log_path.string() + ": " + std::strerror(errno);
    return false;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    std::vector<char*> args{binary.data(), const_cast<char*>("serve"),
                            const_cast<char*>(config.c_str()), nullptr};
    ::execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  ::close(log_fd);
  m_pid = pid;
  bool died = false;
  bool answered = wait_until(
      [&] {
        if (exited(m_pid)) {
          died = true;
          m_pid = -1;
          return true;
        }
        int status = http_get(m_port, "/v2/").status;
        return status == 200 || status == 401;
      },
      std::chrono::seconds(20));
  if (answered && !died) {
    return true;
  }
  std::string tail = log();
  if (tail.size() > 2000) {
    tail = tail.substr(tail.size() - 2000);
  }
  m_error = std::string("docker-registry ") +
            (died ? "exited" : "did not answer /v2/ within 20 s") + " on port " +
            std::to_string(m_port) + "; its log:\n" + tail;
  return false;
}

void RegistryServer::stop() {
  if (m_pid <= 0) {
    return;
  }
  ::kill(-m_pid, SIGTERM);
  ::kill(m_pid, SIGTERM);
  if (!wait_until([&] { return exited(m_pid); }, std::chrono::seconds(10))) {
    ::kill(-m_pid, SIGKILL);
    ::kill(m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
  }
  m_pid = -1;
}

std::filesystem::path RegistryServer::blob_data(const std::string& digest) const {
  std::string hex = digest.substr(digest.find(':') + 1);
  return storage() / "docker" / "registry" / "v2" / "blobs" / "sha256" / hex.substr(0, 2) / hex /
         "data";
}

std::string RegistryServer::log() const {
  std::ifstream in(m_dir / "registry.log", std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace ztp::testing
