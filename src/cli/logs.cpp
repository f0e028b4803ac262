#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "target/local/local_target.hpp"
#include "target/local/replica_status.hpp"

namespace ztp::cli {
namespace {

struct LogsFlags {
  std::string env;
  std::string replica;
  bool follow = false;
  int lines = 50;
};

// One log file: a replica's standard output or error.
struct LogKey {
  std::string replica;
  std::string stream;  // stdout | stderr
  auto operator<=>(const LogKey&) const = default;
};

// The log files of the live replicas of `env`.
std::map<LogKey, std::filesystem::path> log_files(const std::filesystem::path& env_dir,
                                                  const std::string& only) {
  std::map<LogKey, std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(env_dir, ec)) {
    auto id = entry.path().filename().string();
    if (!entry.is_directory() || (!only.empty() && id != only)) {
      continue;
    }
    for (auto name : {target::local::k_stdout_log, target::local::k_stderr_log}) {
      auto path = entry.path() / std::string(name);
      if (std::filesystem::exists(path)) {
        files[{id, name == target::local::k_stderr_log ? "stderr" : "stdout"}] = path;
      }
    }
  }
  return files;
}

// One line of a replica's log: `REPLICA out|err  LINE`, or with --output json one JSON object
// per line, {env, replica, stream, line}.
void print_log_line(bool json, const std::string& env, const LogKey& key, const std::string& line) {
  if (json) {
    nlohmann::json j{
        {"env", env}, {"replica", key.replica}, {"stream", key.stream}, {"line", line}};
    fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  fmt::print("{:<20} {}\n", key.replica + (key.stream == "stderr" ? " err" : " out"), line);
}

std::vector<std::string> last_lines(const std::filesystem::path& path, int n, std::streamoff& end) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
  }
  in.clear();
  in.seekg(0, std::ios::end);
  end = in.tellg();
  if (static_cast<int>(lines.size()) > n) {
    lines.erase(lines.begin(), lines.end() - n);
  }
  return lines;
}

int run_logs(Context& ctx, const LogsFlags& flags) {
  auto ws = open_workspace(ctx.globals, flags.env);
  if (!ws.ok()) {
    return report(ctx, ws.error());
  }
  // A podman replica's `podman run` is attached: the container's output is in the replica's
  // log files as it is in `podman logs`.
  if (const auto* env = ws->spec.find_environment(flags.env);
      env->target != "local" && env->target != "podman") {
    return report(ctx, make_error(Errc::invalid,
                                  fmt::format("ztp logs reads local and podman replicas; {} runs "
                                              "on {}",
                                              flags.env, env->target)));
  }
  target::local::LocalPaths paths{ws->home};
  auto files = log_files(paths.env_dir(flags.env), flags.replica);
  if (files.empty() && !flags.follow) {
    return report(
        ctx, make_error(Errc::not_found,
                        fmt::format("{} has no replica logs{}; deploy it first (`ztp deploy {}`)",
                                    flags.env, flags.replica.empty() ? "" : " for " + flags.replica,
                                    flags.env)));
  }
  const bool json = ctx.globals.json();
  std::map<LogKey, std::streamoff> offsets;
  for (const auto& [key, path] : files) {
    std::streamoff end = 0;
    for (const auto& line : last_lines(path, flags.lines, end)) {
      print_log_line(json, flags.env, key, line);
    }
    offsets[key] = end;
  }
  std::fflush(stdout);
  while (flags.follow) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    for (const auto& [key, path] : log_files(paths.env_dir(flags.env), flags.replica)) {
      std::error_code ec;
      auto size = static_cast<std::streamoff>(std::filesystem::file_size(path, ec));
      if (ec) {
        continue;
      }
      auto& offset = offsets[key];
      if (size < offset) {
        offset = 0;  // rotated
      }
      if (size == offset) {
        continue;
      }
      std::ifstream in(path, std::ios::binary);
      in.seekg(offset);
      std::string line;
      while (std::getline(in, line)) {
        if (in.eof()) {
          break;  // a partial line: wait for the rest
        }
        print_log_line(json, flags.env, key, line);
        offset = in.tellg();
      }
      std::fflush(stdout);
    }
  }
  return 0;
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<LogsFlags>();
  auto* cmd = root.add_subcommand("logs", "Show the replica logs of an environment");
  cmd->footer(
      "Prints the last --lines of each replica's standard output and error, each line after\n"
      "its replica and stream (`dev-1 out`). --output json prints one JSON object per line\n"
      "instead (JSON Lines: {\"env\", \"replica\", \"stream\": \"stdout\"|\"stderr\", \"line\"}),\n"
      "also while following. After `logs`, -f is --follow; name the spec with --file.");
  cmd->add_option("ENV", flags->env, "The environment")->required();
  cmd->add_option("--replica", flags->replica, "Only this replica (as `ztp status` names it)");
  cmd->add_option("-n,--lines", flags->lines, "Lines to show from the end of each log")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-f,--follow", flags->follow, "Keep printing new lines until interrupted");
  cmd->callback([&ctx, flags] { ctx.exit_code = run_logs(ctx, *flags); });
}

const Registration k_registration{52, setup};

}  // namespace
}  // namespace ztp::cli
