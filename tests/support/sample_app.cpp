#include "support/sample_app.hpp"

#include <gtest/gtest.h>

#include "support/support.hpp"

namespace ztp::testing {

std::string sample_app_yaml(const SampleAppOptions& options) {
  int range = replica_port_range_start(options.port);
  std::string text = "app: sample-site\n";
  if (!options.source.empty()) {
    text += "source: " + options.source + "\n";
  }
  text += "build:\n";
  if (!options.exclude.empty()) {
    text += "  exclude: " + options.exclude + "\n";
  }
  text +=
      R"(  command: ["nginx", "-p", "{{replica_dir}}", "-c", "{{replica_dir}}/nginx.local.conf", "-e", "stderr", "-g", "daemon off;"]
  templates: ["nginx.local.conf"]
  dockerfile: none
service:
  port: 80
  port_range: )" +
      std::to_string(range) + "-" + std::to_string(range + 200) + R"(
  health: {path: /health, interval: 200ms, timeout: 500ms, healthy_threshold: 1, unhealthy_threshold: 2}
  start_timeout: 8s
  stop_timeout: 5s
  drain_timeout: )" +
      options.drain_timeout + "\n";
  if (!options.checks.empty()) {
    text += "checks:\n" + options.checks;
  }
  text += R"(environments:
  - name: dev
    listen: 127.0.0.1:)" +
          std::to_string(options.port) + "\n    replicas: " + std::to_string(options.replicas) +
          "\n    strategy: " + options.strategy + "\n";
  if (!options.verify.empty()) {
    text += "    verify: " + options.verify + "\n";
  }
  if (!options.watch.empty()) {
    text += "    watch: " + options.watch + "\n";
  }
  return text;
}

void copy_sample_app(const std::filesystem::path& dest) {
  std::filesystem::copy(source_dir() / "application", dest,
                        std::filesystem::copy_options::recursive);
}

void replace_in(const std::filesystem::path& p, const std::string& from, const std::string& to) {
  auto text = read_text(p);
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << p;
  text.replace(at, from.size(), to);
  write_text(p, text);
}

}  // namespace ztp::testing
