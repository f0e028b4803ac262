#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "util/result.hpp"

namespace ztp::artifact {

// OCI media types we write and read.
inline constexpr const char* k_media_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* k_media_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* k_media_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* k_media_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* k_media_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* k_media_layer_tar = "application/vnd.oci.image.layer.v1.tar";

// Annotation keys of the OCI image spec.
inline constexpr const char* k_annotation_ref_name = "org.opencontainers.image.ref.name";
inline constexpr const char* k_annotation_revision = "org.opencontainers.image.revision";
inline constexpr const char* k_annotation_source = "org.opencontainers.image.source";
inline constexpr const char* k_annotation_created = "org.opencontainers.image.created";
inline constexpr const char* k_annotation_base_name = "org.opencontainers.image.base.name";
inline constexpr const char* k_annotation_base_digest = "org.opencontainers.image.base.digest";

// An OCI content descriptor: what a blob is, its digest and its size.
struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  std::int64_t size = 0;
  std::map<std::string, std::string> annotations;

  bool operator==(const Descriptor&) const = default;
};

// The descriptor as OCI JSON (mediaType, digest, size, annotations when any).
nlohmann::json to_json(const Descriptor& d);
// Parses a descriptor; invalid (naming `where`) when a required field is missing or malformed.
Result<Descriptor> descriptor_from_json(const nlohmann::json& j, std::string_view where);

}  // namespace ztp::artifact
