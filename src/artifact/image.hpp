#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/compress.hpp"
#include "artifact/descriptor.hpp"
#include "util/result.hpp"

namespace ztp::artifact {

// A layer as the image refers to it: its descriptor, the digest of its uncompressed tar (for
// rootfs.diff_ids) and the history line describing it. Base image layers come in this form.
struct LayerRef {
  Descriptor descriptor;
  std::string diff_id;
  std::string created_by;
};

// What the image config says, independent of how the layers are made. With a base image its
// config is the starting point: what is set here overrides it, what is empty keeps the base's.
struct ImageSpecInputs {
  std::vector<std::string> entrypoint;  // config.Entrypoint; set without cmd, drops the base's Cmd
  std::vector<std::string> cmd;         // config.Cmd
  std::map<std::string, std::string> env;     // config.Env: the base's "K=V" with these merged in
  int exposed_port = 0;                       // config.ExposedPorts {"<port>/tcp":{}}; 0: none
  std::vector<std::string> exposed_ports;     // more ExposedPorts keys: "80/tcp", "53/udp"
  std::string working_dir;                    // config.WorkingDir; empty: the base's, else "/"
  std::string user;                           // config.User; empty: the base's
  std::string stop_signal;                    // config.StopSignal; empty: the base's
  nlohmann::json healthcheck;                 // config.Healthcheck; null: the base's
  std::map<std::string, std::string> labels;  // extra labels, beside the OCI ones below
  std::string revision;                       // commit SHA: label and annotation .revision
  std::string source;                         // repository URL: label and annotation .source
  std::int64_t created = 0;                   // commit time (seconds since the epoch): .created
  std::vector<std::string> exclude;           // globs left out of the build context
  std::string architecture = "amd64";
  std::string os = "linux";
  std::string variant;                // "v7" for linux/arm/v7; empty: none
  std::vector<LayerRef> base_layers;  // existing layers placed below ours, in order
  nlohmann::json base_config;         // the base image's config object; null: no base
  nlohmann::json base_history;        // the base's history; null: one line per base layer
  std::string base_name;              // annotation org.opencontainers.image.base.name
  std::string base_digest;            // annotation org.opencontainers.image.base.digest
  LayerOptions layer;                 // how the application layer is compressed
};

// The two JSON documents of an image, serialised canonically, with their descriptors.
struct ImageDocuments {
  std::string config_json;
  std::string manifest_json;
  Descriptor config;
  Descriptor manifest;
};

// A parsed image manifest.
struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

// A parsed image config: the fields the engine and the targets use.
struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string created;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;            // "K=V"
  std::vector<std::string> exposed_ports;  // "8080/tcp"
  std::string working_dir;
  std::string user;
  std::string stop_signal;
  std::map<std::string, std::string> labels;
  std::vector<std::string> diff_ids;
  nlohmann::json config = nlohmann::json::object();  // the whole config object, as found
  nlohmann::json history = nlohmann::json::array();  // the history entries, as found
};

// The stable serialisation we hash: keys sorted, no whitespace, UTF-8 as is.
std::string canonical_json(const nlohmann::json& j);

// The OCI labels/annotations of `in`: image.revision, .source (when set), .created.
std::map<std::string, std::string> oci_annotations(const ImageSpecInputs& in);

// The image config of the OCI image spec for `layers` (bottom first: base layers, then ours).
nlohmann::json make_config(const ImageSpecInputs& in, const std::vector<LayerRef>& layers);

// The image manifest (schemaVersion 2, OCI media type) for a config and its layers.
nlohmann::json make_manifest(const Descriptor& config, const std::vector<Descriptor>& layers,
                             const std::map<std::string, std::string>& annotations);

// Config and manifest for `layers`, serialised with canonical_json, with their descriptors.
ImageDocuments make_image(const ImageSpecInputs& in, const std::vector<LayerRef>& layers);

// Parses a manifest; invalid (naming `where`) when it is not an image manifest.
Result<Manifest> parse_manifest(std::string_view json, std::string_view where);

// Parses an image config; invalid (naming `where`) when rootfs or the platform is missing.
Result<ImageConfig> parse_config(std::string_view json, std::string_view where);

}  // namespace ztp::artifact
