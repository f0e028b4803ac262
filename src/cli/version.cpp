#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"

namespace ztp::cli {
namespace {

void setup(CLI::App& root, Context& ctx) {
  auto* cmd = root.add_subcommand("version", "Print the version of ztp");
  cmd->callback([&ctx] {
    ctx.exit_code = print_result(ctx, Output{.json = {{"version", ZTP_VERSION}},
                                             .text = fmt::format("ztp {}\n", ZTP_VERSION),
                                             .json_indent = -1});
  });
}

const Registration k_registration{1000, setup};

}  // namespace
}  // namespace ztp::cli
