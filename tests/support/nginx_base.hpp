#pragma once

#include <filesystem>
#include <string>

#include "support/registry_server.hpp"

namespace ztp::testing {

// The offline nginx base image (scripts/make-nginx-base.py, docs/base-image.md) made into an OCI
// layout under `dir` and, when `registry` is given, pushed to it as nginx-base:latest.
struct NginxBase {
  std::filesystem::path layout;  // oci:<layout>:latest
  std::string ref;               // 127.0.0.1:<port>/nginx-base:latest, or oci:<layout>:latest
  std::string digest;            // its manifest digest
  std::string error;             // why it could not be made; empty when it was
};
NginxBase make_nginx_base(const std::filesystem::path& dir,
                          const RegistryServer* registry = nullptr);

}  // namespace ztp::testing
