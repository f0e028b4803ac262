#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "artifact/descriptor.hpp"
#include "artifact/file_source.hpp"
#include "artifact/image.hpp"
#include "artifact/oci_layout_store.hpp"
#include "spec/spec.hpp"
#include "util/result.hpp"

namespace ztp::artifact {

// What a build produced and where it went.
struct BuiltImage {
  Descriptor manifest;
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom first: base layers, then the build context
  std::int64_t size = 0;           // manifest + config + layers, in bytes
  std::vector<std::string> tags;
  std::vector<std::string> written;  // digests of blobs this build added (the rest existed)
  // "linux/arm64", ... when `manifest` is an image index of several platforms; else empty.
  std::vector<std::string> platforms;
  std::string base_name;    // the base image as written; empty: none
  std::string base_digest;  // the base's manifest digest it was resolved to
};

// Builds an image from `source`: one deterministic layer of its entries (mtime = in.created)
// above `in.base_layers` (whose blobs must already be in `store`), the config and the manifest;
// stores every blob and points `tags` at the manifest. The same entries and inputs give the
// same manifest digest on any machine.
Result<BuiltImage> build_image(const FileSource& source, const ImageSpecInputs& in,
                               OciLayoutStore& store, const std::vector<std::string>& tags);

// build_image over the directory `dir`, leaving out `in.exclude` (and `.git`, `.ztp`).
Result<BuiltImage> build_image_from_directory(const std::filesystem::path& dir,
                                              const ImageSpecInputs& in, OciLayoutStore& store,
                                              const std::vector<std::string>& tags);

// The inputs ztp.yaml gives: build.entrypoint, build.command (Cmd), build.env, build.exclude,
// service.port (ExposedPorts), the app name as org.opencontainers.image.title; plus the commit
// (`revision`, its time `created` in seconds since the epoch) and the repository URL `source`.
ImageSpecInputs inputs_from_spec(const spec::Spec& spec, std::string revision, std::string source,
                                 std::int64_t created);

}  // namespace ztp::artifact
