#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "util/result.hpp"

namespace ztp::cli {

// Options every command understands; they may stand before or after the command name.
struct Globals {
  std::string output = "text";      // text | json
  std::string log_format = "text";  // text | json
  std::string spec_file;            // -f: ztp.yaml (default: ./ztp.yaml)
  std::string home;                 // ZTP_HOME (default: .ztp beside ztp.yaml)
  bool verbose = false;

  bool json() const { return output == "json"; }
  // The spec file: -f, else $ZTP_FILE, else ./ztp.yaml.
  std::filesystem::path spec_path() const;
  // State directory: --home, else $ZTP_HOME, else .ztp beside the spec file.
  std::filesystem::path home_path() const;
};

// What a command's callback leaves behind.
struct Context {
  Globals globals;
  int exit_code = 0;
};

// A command group adds its subcommands to `root`; their callbacks set ctx.exit_code.
using Setup = void (*)(CLI::App& root, Context& ctx);

// A static Registration in a command's .cpp adds it to the binary; `order` sorts `--help`.
struct Registration {
  Registration(int order, Setup setup);
};

// Parses argv, runs the chosen command, returns the process exit code.
int run(int argc, char** argv);

// Prints `error` to standard error (a JSON object on standard output with --output json) and
// returns its exit code.
int report(const Context& ctx, const Error& error);

// What a command prints when it succeeds: `json` with --output json (indented by `json_indent`;
// -1: on one line), else `text` as it is; `exit_code` is not 0 when what it reports is a failure
// (a check that failed).
struct Output {
  nlohmann::json json;
  std::string text;
  int exit_code = 0;
  int json_indent = 2;
};

// Prints `out` on standard output as --output asks and returns its exit code, or
// reports its error (report()) and returns that error's exit code.
int print_result(const Context& ctx, const Result<Output>& out);

}  // namespace ztp::cli
