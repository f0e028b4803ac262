#include "cli/command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "spec/suggest.hpp"
#include "util/log.hpp"

namespace ztp::cli {
namespace {

struct Entry {
  int order;
  Setup setup;
};

std::vector<Entry>& registry() {
  static std::vector<Entry> entries;
  return entries;
}

// When parsing stopped because a word names no command of the group it was given to (`ztp
// stauts`, `ztp token lsit`; CLI11 only says that a subcommand is required), the error naming
// it and the nearest command.
std::optional<Error> unknown_command(CLI::App& root) {
  CLI::App* group = &root;
  std::string path;  // of the group, after `ztp`
  while (!group->get_subcommands().empty()) {
    group = group->get_subcommands().front();
    path += group->get_name() + " ";
  }
  auto all = [](CLI::App*) { return true; };
  if (group->get_subcommands(all).empty()) {
    return std::nullopt;  // a command that takes no subcommands: CLI11's message is right
  }
  for (const auto& arg : root.remaining(true)) {
    if (arg.empty() || arg[0] == '-') {
      continue;
    }
    std::vector<std::string> names;
    for (auto* sub : group->get_subcommands(all)) {
      names.push_back(sub->get_name());
    }
    return make_error(Errc::invalid,
                      fmt::format("unknown command `{}{}`: {} (`ztp {}--help` lists the commands)",
                                  path, arg, spec::suggest(arg, names, "the commands are"), path));
  }
  return std::nullopt;
}

}  // namespace

Registration::Registration(int order, Setup setup) { registry().push_back({order, setup}); }

std::filesystem::path Globals::spec_path() const {
  if (!spec_file.empty()) {
    return spec_file;
  }
  if (const char* env = std::getenv("ZTP_FILE"); env != nullptr && *env != '\0') {
    return env;
  }
  return "ztp.yaml";
}

std::filesystem::path Globals::home_path() const {
  if (!home.empty()) {
    return home;
  }
  if (const char* env = std::getenv("ZTP_HOME"); env != nullptr && *env != '\0') {
    return env;
  }
  auto dir = std::filesystem::absolute(spec_path()).parent_path();
  return dir / ".ztp";
}

int report(const Context& ctx, const Error& error) {
  if (ctx.globals.json()) {
    nlohmann::json j{{"error", {{"code", errc_name(error.code)}, {"message", error.message}}}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cerr << "ztp: " << error.message << "\n";
  }
  return exit_code(error.code);
}

int print_result(const Context& ctx, const Result<Output>& out) {
  if (!out.ok()) {
    return report(ctx, out.error());
  }
  if (ctx.globals.json()) {
    fmt::print("{}\n", out->json.dump(out->json_indent));
  } else {
    fmt::print("{}", out->text);
  }
  return out->exit_code;
}

int run(int argc, char** argv) {
  Context ctx;
  CLI::App app{
      "zerotouch: a commit on main goes to production with no hands.\n"
      "Builds one reproducible OCI image per commit and promotes it through the environments "
      "of ztp.yaml, each rolled out by a strategy, verified, and rolled back on failure.",
      "ztp"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("ztp ") + ZTP_VERSION);
  app.add_option("-f,--file", ctx.globals.spec_file,
                 "The spec (default: ./ztp.yaml, or $ZTP_FILE)");
  app.add_option("--home", ctx.globals.home,
                 "State directory (default: $ZTP_HOME, or .ztp beside ztp.yaml)");
  app.add_option("-o,--output", ctx.globals.output, "Output format for data: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-format", ctx.globals.log_format,
                 "Log lines: text or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("-v,--verbose", ctx.globals.verbose, "Log debug details");
  app.footer(
      "Exit codes: 0 success, 1 usage or internal error, 2 drift found, 10 network, "
      "11 health or verification failed, 12 deployment failed and rolled back, 13 timeout, "
      "14 refused by a gate or policy.");
  app.parse_complete_callback([&ctx] {
    log::Format format = log::Format::text;
    log::parse_format(ctx.globals.log_format, format);
    log::init(format, ctx.globals.verbose ? log::Level::debug : log::Level::info);
  });

  auto entries = registry();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.order < b.order; });
  for (const auto& e : entries) {
    e.setup(app, ctx);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (auto unknown = unknown_command(app)) {
      return report(ctx, *unknown);
    }
    int code = app.exit(e);
    return code == 0 ? 0 : 1;
  }
  return ctx.exit_code;
}

}  // namespace ztp::cli
