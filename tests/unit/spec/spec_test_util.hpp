#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "spec/parse.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::spec::testing {

// The environment the spec tests see: SLACK_WEBHOOK_URL is set, nothing else.
inline std::optional<std::string> fake_env(const std::string& name) {
  static const std::map<std::string, std::string> k_vars{
      {"SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/secret"},
      {"EMPTY_VAR", ""},
      {"REPLICAS", "4"}};
  auto it = k_vars.find(name);
  if (it == k_vars.end()) {
    return std::nullopt;
  }
  return it->second;
}

// tests/fuzz/spec: the broken specs of the rule tests, and the fuzz corpus.
inline std::filesystem::path corpus_dir() {
  return ztp::testing::source_dir() / "tests" / "fuzz" / "spec";
}

inline ParseOutcome parse_text(const std::string& text) {
  return parse_spec(text, "ztp.yaml", fake_env);
}

inline ParseOutcome parse_corpus(const std::string& name) {
  auto text = fs::read_file(corpus_dir() / name);
  if (!text.ok()) {
    ADD_FAILURE() << text.error().message;
    return {};
  }
  return parse_text(*text);
}

// Each diagnostic as "LINE:COL: message".
inline std::vector<std::string> located(const ParseOutcome& outcome) {
  std::vector<std::string> out;
  for (const auto& d : outcome.diagnostics) {
    out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message);
  }
  return out;
}

}  // namespace ztp::spec::testing
