#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
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

}  // namespace ztp::cli
