#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "spec/json.hpp"
#include "spec/parse.hpp"

namespace ztp::cli {
namespace {

int validate(const Context& ctx) {
  std::filesystem::path path = ctx.globals.spec_path();
  auto outcome = spec::read_spec(path);
  if (!outcome.ok()) {
    return report(ctx, outcome.error());
  }
  if (!outcome->spec) {
    if (ctx.globals.json()) {
      nlohmann::json errors = nlohmann::json::array();
      for (const auto& d : outcome->diagnostics) {
        errors.push_back(spec::to_json(d));
      }
      std::cout << nlohmann::json{{"errors", errors}}.dump(2, ' ', false,
                                                           nlohmann::json::error_handler_t::replace)
                << "\n";
    } else {
      for (const auto& d : outcome->diagnostics) {
        std::cerr << spec::to_string(d) << "\n";
      }
      std::cerr << fmt::format("{}: {} problem{} found\n", path.string(),
                               outcome->diagnostics.size(),
                               outcome->diagnostics.size() == 1 ? "" : "s");
    }
    return exit_code(Errc::invalid);
  }
  const spec::Spec& s = *outcome->spec;
  if (ctx.globals.json()) {
    std::cout << spec::to_json(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
    return 0;
  }
  std::string chain;
  for (const auto& env : s.environments) {
    if (!chain.empty()) {
      chain += " → ";
    }
    chain += env.name;
  }
  fmt::print("OK: {}: app {}, environments {}\n", path.string(), s.app, chain);
  return 0;
}

void setup(CLI::App& root, Context& ctx) {
  auto* cmd = root.add_subcommand(
      "validate",
      "Check ztp.yaml: print every problem as FILE:LINE:COL, or the resolved model with "
      "--output json");
  cmd->callback([&ctx] { ctx.exit_code = validate(ctx); });
}

const Registration k_registration{20, setup};

}  // namespace
}  // namespace ztp::cli
