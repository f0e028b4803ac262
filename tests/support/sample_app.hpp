#pragma once

#include <filesystem>
#include <string>

namespace ztp::testing {

// What a test varies in the sample application's ztp.yaml: one environment, dev, of nginx
// replicas behind the front door on 127.0.0.1:<port>, their ports taken from a range of 200
// that starts at replica_port_range_start(port). Every string is YAML as it stands in the file.
// Every field has an initializer so that designated initializers may leave any of them out.
struct SampleAppOptions {
  int port = 0;  // dev's front door
  int replicas = 2;
  std::string strategy = "{rolling: {max_surge: 1, max_unavailable: 0}}";
  std::string verify{};   // dev's `verify:`, left out when empty
  std::string watch{};    // dev's `watch:`, left out when empty
  std::string source{};   // the top-level `source:`, left out when empty
  std::string exclude{};  // build's `exclude:`, left out when empty
  std::string drain_timeout = "5s";
  // The lines under the top-level `checks:` (indented by two, each ending in a newline); the
  // block is left out when empty.
  std::string checks{};
};

// The text of the sample application's ztp.yaml (app sample-site) for `options`.
std::string sample_app_yaml(const SampleAppOptions& options);

// Copies the sample application (the project's application/ folder) to `dest`, which must not
// exist yet.
void copy_sample_app(const std::filesystem::path& dest);

// Replaces the first `from` in the file at `p` with `to`; fails the test when `from` is not
// there.
void replace_in(const std::filesystem::path& p, const std::string& from, const std::string& to);

}  // namespace ztp::testing
