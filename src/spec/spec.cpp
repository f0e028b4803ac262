#include "spec/spec.hpp"

#include <algorithm>

namespace ztp::spec {

const Environment* Spec::find_environment(const std::string& name) const {
  for (const auto& env : environments) {
    if (env.name == name) {
      return &env;
    }
  }
  return nullptr;
}

const CheckSuite* Spec::find_suite(const std::string& name) const {
  for (const auto& suite : checks) {
    if (suite.name == name) {
      return &suite;
    }
  }
  return nullptr;
}

const std::vector<std::string>& builtin_suite_names() {
  static const std::vector<std::string> names{"security_headers", "error_pages"};
  return names;
}

bool is_builtin_suite(const std::string& name) {
  const auto& names = builtin_suite_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool uses_port_range(const std::string& target) { return target == "local" || target == "podman"; }

}  // namespace ztp::spec
