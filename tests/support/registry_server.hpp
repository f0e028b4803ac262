#pragma once

#include <filesystem>
#include <string>

#include "support/support.hpp"

namespace ztp::testing {

// A real OCI distribution registry (Debian's docker-registry) on a free 127.0.0.1 port, with
// its storage in a temp dir and its log (access log and application log) captured to a file.
// Killed and cleaned up on destruction. Check ok() (and show error()) before using it.
class RegistryServer {
 public:
  struct Options {
    // htpasswd file content ("user:<bcrypt hash>" lines): when set, the registry asks for Basic
    // auth and accepts only these users.
    std::string htpasswd;
  };

  RegistryServer();
  explicit RegistryServer(Options options);
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // Whether the registry answers /v2/; error() says why not (with the end of its log).
  bool ok() const { return m_pid > 0 && m_error.empty(); }
  const std::string& error() const { return m_error; }

  int port() const { return m_port; }
  // "127.0.0.1:<port>"
  std::string host() const { return "127.0.0.1:" + std::to_string(m_port); }
  // The registry's storage root (docker/registry/v2/... below it).
  std::filesystem::path storage() const { return m_dir / "storage"; }
  // Where a blob's bytes live in the storage.
  std::filesystem::path blob_data(const std::string& digest) const;
  // Everything the registry logged so far.
  std::string log() const;

 private:
  bool start(const Options& options);
  void stop();

  TempDir m_tmp;
  std::filesystem::path m_dir;
  int m_port = 0;
  int m_pid = -1;
  std::string m_error;
};

}  // namespace ztp::testing
