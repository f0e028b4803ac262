#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "artifact/base_image.hpp"
#include "artifact/builder.hpp"
#include "artifact/file_source.hpp"
#include "artifact/oci_layout_store.hpp"
#include "spec/spec.hpp"
#include "util/result.hpp"

// Building the image a spec describes from its build context: the context as one layer over
// `build.from`, or what the context's Dockerfile says.
namespace ztp::artifact {

struct ContextBuildOptions {
  std::map<std::string, std::string> build_args;  // over build.args (--build-arg)
  std::optional<Platform> platform;               // default: build.platforms' first, else host
};

// The Dockerfile a build reads, relative to the context: build.dockerfile, else `Dockerfile`
// when `has_root_dockerfile` and build.from is empty; nullopt when none is read
// (build.dockerfile: none, or neither).
std::optional<std::string> dockerfile_of(const spec::Build& build, bool has_root_dockerfile);

// Builds into `store`, tagged `tags`: with a Dockerfile (dockerfile_of), its last stage over its
// base (layers reused by digest) plus one layer of everything its COPY lines put there, the
// config merged from the base, the Dockerfile and `in` (the spec's command, env, port, labels
// win); with build.from and no Dockerfile, the context's entries as one layer over that base;
// otherwise build_image as it is. The base is recorded in the base.name / base.digest
// annotations. A Dockerfile with RUN is handed to buildah when it is on PATH, else refused at
// that line; every error names the Dockerfile's line or the base image. With two or more
// build.platforms (and no opts.platform) one image is built per platform, each over that
// platform's base, and `tags` name an image index of them; the result describes the host's
// image (else the first platform's).
Result<BuiltImage> build_context(const spec::Spec& spec, const FileSource& context,
                                 ImageSpecInputs in, OciLayoutStore& store,
                                 const std::vector<std::string>& tags,
                                 const ContextBuildOptions& opts);

// Whether `rel` (relative to the context) stays out of a Dockerfile build by the
// .dockerignore `patterns` (comments and blank lines already dropped): the last pattern that
// matches the path or one of its parents decides, `!` re-including.
bool dockerignored(const std::vector<std::string>& patterns, std::string_view rel);

// The patterns of a .dockerignore file's text.
std::vector<std::string> parse_dockerignore(std::string_view text);

}  // namespace ztp::artifact
