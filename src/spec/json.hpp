#pragma once

#include <nlohmann/json.hpp>

#include "spec/parse.hpp"
#include "spec/spec.hpp"

namespace ztp::spec {

// The resolved model (defaults filled, variables expanded) as JSON, keys as in ztp.yaml.
// Each duration appears twice: `key` as text ("2s") and `key_ms` as a number. Secrets show as
// "(set)" and every other credential is masked (spec/mask.hpp).
nlohmann::json to_json(const Spec& spec);

// A diagnostic as {"file", "line", "column", "message", "hint"}.
nlohmann::json to_json(const Diagnostic& d);

}  // namespace ztp::spec
