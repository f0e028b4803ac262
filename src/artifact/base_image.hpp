#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/descriptor.hpp"
#include "artifact/image.hpp"
#include "artifact/oci_layout_store.hpp"
#include "artifact/registry_client.hpp"
#include "util/result.hpp"

// The image a build starts from: `build.from` or a Dockerfile's FROM, in a registry or in an
// OCI image layout on disk, resolved to one platform's manifest and brought into the store.
namespace ztp::artifact {

// An OS and CPU as the OCI image index names them.
struct Platform {
  std::string os = "linux";
  std::string architecture;  // amd64, arm64, arm, ...
  std::string variant;       // v7 for arm; empty when none

  std::string str() const;  // "linux/arm64", "linux/arm/v7"
  bool operator==(const Platform&) const = default;
};

// The platform of this machine (its kernel's CPU in OCI's names).
Platform host_platform();
// Parses "os/arch[/variant]"; invalid otherwise.
Result<Platform> parse_platform(std::string_view text);

// Where a base image comes from, as written.
struct BaseRef {
  enum class Kind { registry, layout };
  Kind kind = Kind::registry;
  std::string text;  // as written, for messages and the base.name annotation
  // registry: the endpoint and the tag or "sha256:..." digest (a digest wins over a tag).
  RegistryEndpoint endpoint;
  std::string reference;
  // layout: the directory and the tag or digest in it; empty: its only image.
  std::filesystem::path layout;
  std::string layout_ref;
};

// Parses an image reference: `oci:PATH[:TAG|@DIGEST]` (PATH relative to `base_dir`) or a
// registry reference `[HOST[:PORT]/]NAME[:TAG][@DIGEST]`, where a first component without a
// dot, a colon or "localhost" means Docker Hub (`nginx:alpine` is
// registry-1.docker.io/library/nginx:alpine) and no tag means `latest`. invalid, saying what
// is malformed, otherwise.
Result<BaseRef> parse_base_ref(std::string_view text, const std::filesystem::path& base_dir);

// A base image for one platform, its blobs in the store.
struct BaseImage {
  std::string name;    // the reference as written
  std::string digest;  // the platform's image manifest digest
  Descriptor manifest;
  ImageConfig config;            // with the whole config object and history
  std::vector<LayerRef> layers;  // bottom first, media types mapped to OCI's
};

// Resolves `ref` for `platform` (an image index is narrowed to that platform's manifest;
// not_found, listing the platforms it has, when it lacks it) and copies the manifest, config
// and layers into `store` (blobs it has already are not fetched again), each verified against
// its digest. Registry credentials come from RegistryAuth::for_registry.
Result<BaseImage> pull_base(const BaseRef& ref, const Platform& platform, OciLayoutStore& store);

}  // namespace ztp::artifact
