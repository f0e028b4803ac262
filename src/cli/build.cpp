// ztp build: the image of one commit, built from its tree and pushed to the spec's registry.
#include <fmt/format.h>

#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "artifact/commit_build.hpp"
#include "artifact/registry_client.hpp"
#include "cli/command.hpp"
#include "cli/workspace.hpp"

namespace ztp::cli {
namespace {

struct BuildFlags {
  std::string commit;
  bool no_push = false;
  bool refresh_base = false;
  std::vector<std::string> build_args;  // KEY=VALUE
  std::string platform;
};

// The --build-arg values as a map; invalid for one without `=` or with a bad name.
Result<std::map<std::string, std::string>> parse_build_args(const std::vector<std::string>& args) {
  std::map<std::string, std::string> out;
  for (const auto& a : args) {
    size_t eq = a.find('=');
    std::string name = a.substr(0, eq);
    bool valid =
        !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) != 0 || name[0] == '_');
    for (char c : name) {
      valid = valid && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_');
    }
    if (eq == std::string::npos || !valid) {
      return make_error(Errc::invalid,
                        fmt::format("--build-arg `{}` is not NAME=VALUE (a name of letters, "
                                    "digits and _)",
                                    a));
    }
    out[name] = a.substr(eq + 1);
  }
  return out;
}

Result<Output> run_build(Workspace& ws, const BuildFlags& flags) {
  ZTP_ASSIGN_OR_RETURN(auto repo, artifact::open_spec_repo(ws.spec));
  ZTP_ASSIGN_OR_RETURN(auto layout, artifact::OciLayoutStore::open(ws.home / "oci"));
  std::string rev = flags.commit.empty() ? ws.spec.source.branch : flags.commit;
  artifact::CommitBuildOptions opts;
  opts.refresh_base = flags.refresh_base;
  ZTP_ASSIGN_OR_RETURN(opts.context.build_args, parse_build_args(flags.build_args));
  if (!flags.platform.empty()) {
    ZTP_ASSIGN_OR_RETURN(opts.context.platform, artifact::parse_platform(flags.platform));
  }
  ZTP_ASSIGN_OR_RETURN(auto built, artifact::build_commit(ws.spec, repo, rev, layout, opts));
  const auto& image = built.image;
  nlohmann::json out{{"commit", built.commit.sha},   {"digest", image.manifest.digest},
                     {"tags", image.tags},           {"size", image.size},
                     {"platforms", image.platforms}, {"reused", built.reused},
                     {"written", image.written},     {"layout", layout.root().string()}};
  std::optional<artifact::PushStats> pushed;
  const auto& reg = ws.spec.registry;
  if (reg.kind != spec::Registry::Kind::local && !flags.no_push) {
    ZTP_ASSIGN_OR_RETURN(auto client, artifact::RegistryClient::from_spec(reg));
    ZTP_ASSIGN_OR_RETURN(auto stats, client.push(layout, image.manifest, image.tags));
    pushed = stats;
    out["registry"] = {{"url", reg.url},
                       {"uploaded", stats.uploaded},
                       {"skipped", stats.skipped},
                       {"mounted", stats.mounted},
                       {"bytes_uploaded", stats.bytes_uploaded}};
  }
  std::string text = fmt::format("commit  {} {}\n", built.commit.short_sha, built.commit.summary);
  text += fmt::format("digest  {}\n", image.manifest.digest);
  text += fmt::format("tags    {}\n", fmt::join(image.tags, ", "));
  text += fmt::format("size    {} bytes ({} layer(s))\n", image.size, image.layers.size());
  if (!image.platforms.empty()) {
    text += fmt::format("index   {} platforms: {}\n", image.platforms.size(),
                        fmt::join(image.platforms, ", "));
  }
  if (built.reused) {
    text += "built   no: this commit was built before\n";
  } else {
    text +=
        fmt::format("built   {} new blob(s) in {}\n", image.written.size(), layout.root().string());
  }
  if (pushed) {
    text += fmt::format(
        "pushed  {}: {} blob(s) uploaded ({} bytes), {} already there{}\n", reg.url,
        pushed->blobs_uploaded, pushed->bytes_uploaded, pushed->blobs_skipped,
        pushed->mounted.empty()
            ? ""
            : fmt::format(", {} mounted from the base's repository", pushed->mounted.size()));
  } else if (reg.kind == spec::Registry::Kind::local) {
    text += "pushed  no: registry is local (the image stays in the layout above)\n";
  }
  return Output{out, text};
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<BuildFlags>();
  auto* cmd = root.add_subcommand("build", "Build a commit's image and push it to the registry");
  cmd->footer(
      "Build the image of one commit from its committed tree (uncommitted files never ship):\n"
      "a deterministic layer, config and manifest, tagged with the full and the short SHA. The\n"
      "same commit gives the same digest on any machine; a commit built before is not built\n"
      "again. The image starts from build.from (a registry image or oci:PATH[:TAG]) or is\n"
      "described by the Dockerfile (build.dockerfile, or Dockerfile at the context root):\n"
      "FROM, COPY/ADD of local files, ARG, ENV, LABEL, EXPOSE, WORKDIR, USER, ENTRYPOINT,\n"
      "CMD, HEALTHCHECK and STOPSIGNAL are read by ztp; the base is resolved to a digest and\n"
      "recorded in the image's base.name/base.digest annotations. With an oci:// registry the\n"
      "image is pushed, uploading only the blobs the registry lacks. Prints the digest, tags,\n"
      "size and what was written and uploaded.");
  cmd->add_option("--commit", flags->commit,
                  "The revision to build (default: the tip of source.branch)");
  cmd->add_flag("--no-push", flags->no_push, "Build into the local image store only");
  cmd->add_option("--build-arg", flags->build_args,
                  "NAME=VALUE for an ARG of the Dockerfile, over build.args (repeatable)");
  cmd->add_flag("--refresh-base", flags->refresh_base,
                "Resolve the base image again and rebuild, even when this commit was built");
  cmd->add_option("--platform", flags->platform,
                  "Build one image for os/arch, like linux/arm64, instead of build.platforms "
                  "(two or more platforms there build an image index; none: this machine's)");
  cmd->callback([&ctx, flags] { ctx.exit_code = with_workspace(ctx, "", run_build, *flags); });
}

const Registration k_registration{35, setup};

}  // namespace
}  // namespace ztp::cli
