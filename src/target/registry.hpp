#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "spec/spec.hpp"
#include "target/target.hpp"
#include "util/clock.hpp"

namespace ztp::target {

// Makes the target named by an environment's `target:` ("local", ...). Errc::invalid naming
// the known kinds when there is no such target in this build. `spec` must outlive it.
Result<std::unique_ptr<Target>> make_target(const std::string& kind, const spec::Spec& spec,
                                            const std::filesystem::path& home, Clock& clock);

// The target kinds this build has, sorted.
std::vector<std::string> target_kinds();

}  // namespace ztp::target
