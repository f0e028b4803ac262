#include "support/nginx_base.hpp"

namespace ztp::testing {

NginxBase make_nginx_base(const std::filesystem::path& dir, const RegistryServer* registry) {
  NginxBase base;
  base.layout = dir / "nginx-base";
  std::vector<std::string> argv{"/usr/bin/python3",
                                (source_dir() / "scripts/make-nginx-base.py").string(),
                                base.layout.string()};
  if (registry != nullptr) {
    base.ref = registry->host() + "/nginx-base:latest";
    argv.insert(argv.end(), {"--push", base.ref});
  } else {
    base.ref = "oci:" + base.layout.string() + ":latest";
  }
  auto made = run_process(argv, {}, std::chrono::seconds(120));
  if (made.exit_code != 0) {
    base.error = "scripts/make-nginx-base.py failed: " + made.err + made.out;
    return base;
  }
  base.digest = made.out.substr(0, made.out.find('\n'));
  return base;
}

}  // namespace ztp::testing
