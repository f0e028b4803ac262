// `ztp init [DIR]`: writes the sample application (a static site served by nginx) and its
// commented ztp.yaml, as embedded in the binary from application/.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/embedded_app.hpp"
#include "util/fs.hpp"

namespace ztp::cli {
namespace {

struct InitOptions {
  std::string dir = ".";
  bool force = false;
};

// The files of the sample application that already exist under `dir` (anything at their
// path, a directory or a dangling link included).
std::vector<std::string> existing_files(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  for (const auto& file : embedded_application()) {
    std::error_code ec;
    auto st = std::filesystem::symlink_status(dir / file.path, ec);
    if (!ec && std::filesystem::exists(st)) {
      found.emplace_back(file.path);
    }
  }
  return found;
}

Result<std::vector<std::string>> write_application(const std::filesystem::path& dir, bool force) {
  if (!force) {
    auto existing = existing_files(dir);
    if (!existing.empty()) {
      std::string list;
      for (const auto& path : existing) {
        list += fmt::format("\n  {}", (dir / path).string());
      }
      return make_error(Errc::conflict,
                        fmt::format("init: {} file(s) of the sample application already exist in "
                                    "{}; nothing was written:{}\nMove them away, choose another "
                                    "directory, or pass --force to overwrite them.",
                                    existing.size(), dir.string(), list));
    }
  }
  ZTP_TRY(fs::ensure_dir(dir));
  std::vector<std::string> written;
  for (const auto& file : embedded_application()) {
    auto target = dir / file.path;
    ZTP_TRY(fs::ensure_dir(target.parent_path()));
    if (force) {
      // atomic_write renames over a file; a directory in the way must be removed by hand.
      std::error_code ec;
      if (std::filesystem::is_directory(std::filesystem::symlink_status(target, ec))) {
        return make_error(Errc::conflict, fmt::format("init: {} is a directory; remove it to "
                                                      "write the sample application's file",
                                                      target.string()));
      }
    }
    ZTP_TRY(fs::atomic_write(target, file.content, 0644));
    written.emplace_back(file.path);
  }
  return written;
}

// What init wrote and what to do next.
std::string written_text(const std::string& dir, const std::vector<std::string>& written) {
  std::string text =
      fmt::format("Wrote the sample application ({} files) to {}:\n", written.size(), dir);
  for (const auto& path : written) {
    text += fmt::format("  {}\n", path);
  }
  text += "\nNext steps:\n";
  if (dir != ".") {
    text += fmt::format("  cd {}\n", dir);
  }
  return text +
         "  ztp validate               # check ztp.yaml\n"
         "  ztp deploy dev --dir .     # build this directory and serve it on "
         "http://127.0.0.1:8081\n"
         "  ztp run                    # the whole pipeline, dev -> qa -> prod, for the tip of "
         "main\n"
         "                             # (needs a git repository: git init -b main && git add -A "
         "&& git commit -m 'Sample site')\n"
         "  ztp -f ztp.containers.yaml deploy dev --dir .\n"
         "                             # build the Dockerfile into a runnable nginx image and run "
         "it with podman\n"
         "\nztp.yaml and ztp.containers.yaml are commented; README.md says how the site runs "
         "locally and in Docker.\n";
}

Result<Output> run_init(const InitOptions& options) {
  ZTP_ASSIGN_OR_RETURN(auto written, write_application(options.dir, options.force));
  return Output{{{"dir", options.dir}, {"files", written}}, written_text(options.dir, written)};
}

void setup(CLI::App& root, Context& ctx) {
  auto options = std::make_shared<InitOptions>();
  auto* cmd = root.add_subcommand("init", "Scaffold ztp.yaml and a sample application");
  cmd->footer(
      "Writes a sample application into DIR: a static site served by nginx (Dockerfile, "
      "nginx.conf for the container, nginx.local.conf for local replicas) and two commented "
      "specs with dev, qa and prod: ztp.yaml runs the site's files with this machine's nginx; "
      "ztp.containers.yaml builds the Dockerfile into a runnable image (its base from the "
      "build arg BASE, nginx:alpine by default) and runs every replica as a podman container. "
      "Refuses to overwrite existing files unless --force.");
  cmd->add_option("dir", options->dir, "Where to write it (created if missing; default: .)");
  cmd->add_flag("--force", options->force, "Overwrite files that already exist");
  cmd->callback([&ctx, options] { ctx.exit_code = print_result(ctx, run_init(*options)); });
}

const Registration k_registration{10, setup};

}  // namespace
}  // namespace ztp::cli
