#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"

namespace ztp::cli {
namespace {

void setup(CLI::App& root, Context& ctx) {
  auto* cmd = root.add_subcommand("version", "Print the version of ztp");
  cmd->callback([&ctx] {
    if (ctx.globals.json()) {
      fmt::print("{}\n", nlohmann::json{{"version", ZTP_VERSION}}.dump());
    } else {
      fmt::print("ztp {}\n", ZTP_VERSION);
    }
  });
}

const Registration k_registration{1000, setup};

}  // namespace
}  // namespace ztp::cli
