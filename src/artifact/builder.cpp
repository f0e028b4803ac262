#include "artifact/builder.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "artifact/directory_source.hpp"
#include "artifact/layer.hpp"

namespace ztp::artifact {

Result<BuiltImage> build_image(const FileSource& source, const ImageSpecInputs& in,
                               OciLayoutStore& store, const std::vector<std::string>& tags) {
  for (const auto& t : tags) {
    if (!is_valid_tag(t)) {
      return make_error(Errc::invalid, fmt::format("\"{}\" is not a valid image tag", t));
    }
  }
  for (const auto& base : in.base_layers) {
    if (!store.has_blob(base.descriptor.digest)) {
      return make_error(Errc::not_found,
                        fmt::format("base layer {} is not in the image store {}; pull the base "
                                    "image first",
                                    base.descriptor.digest, store.root().string()));
    }
  }
  ZTP_ASSIGN_OR_RETURN(auto entries, source.entries());
  auto layer = build_layer(std::move(entries), in.created, in.layer);
  if (!layer.ok()) {
    Error e = layer.take_error();
    e.message = fmt::format("{}: {}", source.describe(), e.message);
    return e;
  }
  BuiltImage out;
  auto note = [&](const StoredBlob& b) {
    out.size += b.descriptor.size;
    if (b.created) {
      out.written.push_back(b.descriptor.digest);
    }
  };
  ZTP_ASSIGN_OR_RETURN(auto stored_layer, store.put_blob(layer->blob, layer->media_type));
  note(stored_layer);

  std::vector<LayerRef> refs = in.base_layers;
  // The history line names no path of this machine, so it does not change the digest.
  refs.push_back(
      LayerRef{layer->descriptor(), layer->diff_id,
               in.revision.empty() ? "ztp build" : fmt::format("ztp build {}", in.revision)});
  for (const auto& base : in.base_layers) {
    out.size += base.descriptor.size;
  }
  ImageDocuments docs = make_image(in, refs);
  ZTP_ASSIGN_OR_RETURN(auto stored_config, store.put_blob(docs.config_json, k_media_config));
  note(stored_config);
  bool manifest_existed = store.has_blob(docs.manifest.digest);
  ZTP_ASSIGN_OR_RETURN(auto manifest, store.put_manifest(docs.manifest_json, tags));
  out.size += manifest.size;
  if (!manifest_existed) {
    out.written.push_back(manifest.digest);
  }
  out.manifest = manifest;
  out.config = docs.config;
  for (const auto& r : refs) {
    out.layers.push_back(r.descriptor);
  }
  out.tags = tags;
  out.base_name = in.base_name;
  out.base_digest = in.base_digest;
  return out;
}

Result<BuiltImage> build_image_from_directory(const std::filesystem::path& dir,
                                              const ImageSpecInputs& in, OciLayoutStore& store,
                                              const std::vector<std::string>& tags) {
  DirectorySource source(dir, in.exclude);
  return build_image(source, in, store, tags);
}

ImageSpecInputs inputs_from_spec(const spec::Spec& spec, std::string revision, std::string source,
                                 std::int64_t created) {
  ImageSpecInputs in;
  // A command with {{placeholders}} is the local target's, rendered per replica: it never
  // reaches an image, which keeps the base's or the Dockerfile's Cmd instead.
  auto templated = [](const std::vector<std::string>& argv) {
    return std::any_of(argv.begin(), argv.end(),
                       [](const std::string& a) { return a.find("{{") != std::string::npos; });
  };
  if (!templated(spec.build.entrypoint)) {
    in.entrypoint = spec.build.entrypoint;
  }
  if (!templated(spec.build.command)) {
    in.cmd = spec.build.command;
  }
  in.env = spec.build.env;
  in.layer.compression = spec.build.compression == "zstd" ? Compression::zstd : Compression::gzip;
  in.exclude = spec.build.exclude;
  in.exposed_port = spec.service.port;
  if (!spec.app.empty()) {
    in.labels["org.opencontainers.image.title"] = spec.app;
  }
  in.revision = std::move(revision);
  in.source = std::move(source);
  in.created = created;
  return in;
}

}  // namespace ztp::artifact
