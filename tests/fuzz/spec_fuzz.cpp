// Fuzzes the ztp.yaml parser: whatever the text, parse_spec answers with a spec and no
// diagnostics, or with diagnostics and no spec; it never throws or crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "spec/parse.hpp"

namespace {

// A fixed environment, so that a crash reproduces: two variables set, one of them empty.
std::optional<std::string> fuzz_env(const std::string& name) {
  if (name == "SLACK_WEBHOOK_URL") {
    return std::string("https://hooks.slack.com/services/T0/B0/secret");
  }
  if (name == "EMPTY_VAR") {
    return std::string();
  }
  if (name == "REPLICAS") {
    return std::string("4");
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ztp::spec::ParseOutcome out = ztp::spec::parse_spec(text, "ztp.yaml", fuzz_env);
  if (out.spec.has_value() == !out.diagnostics.empty()) {
    std::abort();  // a spec with diagnostics, or neither
  }
  for (const auto& d : out.diagnostics) {
    if (d.line < 0 || d.column < 0 || d.message.empty() || ztp::spec::to_string(d).empty()) {
      std::abort();
    }
  }
  return 0;
}
