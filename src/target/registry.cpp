#include "target/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "target/local/local_target.hpp"

namespace ztp::target {
namespace {

using Factory = std::unique_ptr<Target> (*)(const spec::Spec&, const std::filesystem::path&,
                                            Clock&);

const std::unordered_map<std::string, Factory>& factories() {
  static const std::unordered_map<std::string, Factory> table{
      {"local",
       [](const spec::Spec& spec, const std::filesystem::path& home,
          Clock& clock) -> std::unique_ptr<Target> {
         return std::make_unique<local::LocalTarget>(spec, home, clock);
       }},
      {"podman",
       [](const spec::Spec& spec, const std::filesystem::path& home,
          Clock& clock) -> std::unique_ptr<Target> {
         return std::make_unique<local::LocalTarget>(spec, home, clock, fs::self_executable(),
                                                     local::Runtime::podman);
       }},
  };
  return table;
}

}  // namespace

Result<std::unique_ptr<Target>> make_target(const std::string& kind, const spec::Spec& spec,
                                            const std::filesystem::path& home, Clock& clock) {
  auto it = factories().find(kind);
  if (it == factories().end()) {
    return make_error(Errc::invalid,
                      fmt::format("target {} is not available in this build; targets: {}", kind,
                                  fmt::join(target_kinds(), ", ")));
  }
  return it->second(spec, home, clock);
}

std::vector<std::string> target_kinds() {
  std::vector<std::string> out;
  for (const auto& [k, _] : factories()) {
    out.push_back(k);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ztp::target
