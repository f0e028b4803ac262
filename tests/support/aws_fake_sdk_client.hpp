#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/support.hpp"

namespace ztp::testing {

// Why the official AWS SDK for JavaScript cannot run here ("run `npm ci --prefix
// tests/aws-sdk`", or the missing node), or "" when it can. Tests fail with it; they never skip.
std::string aws_sdk_missing();

// tests/aws-sdk/fake_client.mjs in one node process, talking to an AwsFake at `endpoint`: each
// run() sends one command line and reads the one result line (see the script for both forms).
class AwsSdkClient {
 public:
  explicit AwsSdkClient(const std::string& endpoint, const std::string& region = "us-east-1");
  ~AwsSdkClient();
  AwsSdkClient(const AwsSdkClient&) = delete;
  AwsSdkClient& operator=(const AwsSdkClient&) = delete;

  // Whether node started; error() says why not.
  bool ok() const { return m_pid > 0; }
  const std::string& error() const { return m_error; }

  // Runs one command and returns its result; a result {"ok": false, "error": {"name":
  // "ClientFailure", ...}} when the script died or did not answer within `timeout` (with what
  // it wrote on stderr).
  nlohmann::json run(const nlohmann::json& command,
                     std::chrono::seconds timeout = std::chrono::seconds(60));
  // run() of {"client", "command", "input", "config"}.
  nlohmann::json call(const std::string& client, const std::string& command,
                      const nlohmann::json& input = nlohmann::json::object(),
                      const nlohmann::json& config = nlohmann::json::object());

 private:
  TempDir m_tmp;
  pid_t m_pid = -1;
  int m_in = -1;   // the script's stdin
  int m_out = -1;  // the script's stdout
  std::string m_buffer;
  std::string m_error;
};

}  // namespace ztp::testing
