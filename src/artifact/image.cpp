#include "artifact/image.hpp"

#include <fmt/format.h>

#include "artifact/digest.hpp"
#include "sys/time.hpp"

namespace ztp::artifact {
namespace {

using nlohmann::json;

Result<json> parse_object(std::string_view text, std::string_view where) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::invalid, fmt::format("{}: not a JSON object", where));
  }
  return j;
}

Result<std::vector<std::string>> string_array(const json& j, std::string_view field,
                                              std::string_view where) {
  std::vector<std::string> out;
  if (j.is_null()) {
    return out;
  }
  if (!j.is_array()) {
    return make_error(Errc::invalid, fmt::format("{}: {} is not an array", where, field));
  }
  for (const auto& v : j) {
    if (!v.is_string()) {
      return make_error(Errc::invalid,
                        fmt::format("{}: {} holds a value that is not a string", where, field));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

// The string `key` of the object `j`; `fallback` when it is absent or null.
Result<std::string> optional_string(const json& j, const char* key, std::string fallback,
                                    std::string_view where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  if (!it->is_string()) {
    return make_error(Errc::invalid, fmt::format("{}: {} is not a string", where, key));
  }
  return it->get<std::string>();
}

}  // namespace

std::string canonical_json(const nlohmann::json& j) {
  // nlohmann::json keeps object keys in a std::map, so dump() is sorted and has no spaces.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::map<std::string, std::string> oci_annotations(const ImageSpecInputs& in) {
  std::map<std::string, std::string> out;
  out[k_annotation_created] = sys::format_rfc3339(sys::WallTime(std::chrono::seconds(in.created)),
                                                  sys::TimePrecision::seconds);
  if (!in.revision.empty()) {
    out[k_annotation_revision] = in.revision;
  }
  if (!in.source.empty()) {
    out[k_annotation_source] = in.source;
  }
  return out;
}

nlohmann::json make_config(const ImageSpecInputs& in, const std::vector<LayerRef>& layers) {
  std::string created = sys::format_rfc3339(sys::WallTime(std::chrono::seconds(in.created)),
                                            sys::TimePrecision::seconds);
  json cfg = json::object();
  if (!in.entrypoint.empty()) {
    cfg["Entrypoint"] = in.entrypoint;
  }
  if (!in.cmd.empty()) {
    cfg["Cmd"] = in.cmd;
  }
  if (!in.env.empty()) {
    json env = json::array();
    for (const auto& [k, v] : in.env) {
      env.push_back(k + "=" + v);
    }
    cfg["Env"] = env;
  }
  if (in.exposed_port > 0) {
    cfg["ExposedPorts"] = json{{fmt::format("{}/tcp", in.exposed_port), json::object()}};
  }
  cfg["WorkingDir"] = in.working_dir;
  auto labels = in.labels;
  for (const auto& [k, v] : oci_annotations(in)) {
    labels[k] = v;
  }
  cfg["Labels"] = labels;

  json diff_ids = json::array();
  json history = json::array();
  for (const auto& l : layers) {
    diff_ids.push_back(l.diff_id);
    history.push_back(json{{"created", created}, {"created_by", l.created_by}});
  }
  return json{{"architecture", in.architecture},
              {"os", in.os},
              {"created", created},
              {"config", cfg},
              {"rootfs", json{{"type", "layers"}, {"diff_ids", diff_ids}}},
              {"history", history}};
}

nlohmann::json make_manifest(const Descriptor& config, const std::vector<Descriptor>& layers,
                             const std::map<std::string, std::string>& annotations) {
  json ls = json::array();
  for (const auto& l : layers) {
    ls.push_back(to_json(l));
  }
  json m{{"schemaVersion", 2},
         {"mediaType", k_media_manifest},
         {"config", to_json(config)},
         {"layers", ls}};
  if (!annotations.empty()) {
    m["annotations"] = annotations;
  }
  return m;
}

ImageDocuments make_image(const ImageSpecInputs& in, const std::vector<LayerRef>& layers) {
  ImageDocuments d;
  d.config_json = canonical_json(make_config(in, layers));
  d.config = Descriptor{k_media_config,
                        sha256_digest(d.config_json),
                        static_cast<std::int64_t>(d.config_json.size()),
                        {}};
  std::vector<Descriptor> descs;
  descs.reserve(layers.size());
  for (const auto& l : layers) {
    descs.push_back(l.descriptor);
  }
  d.manifest_json = canonical_json(make_manifest(d.config, descs, oci_annotations(in)));
  d.manifest = Descriptor{k_media_manifest,
                          sha256_digest(d.manifest_json),
                          static_cast<std::int64_t>(d.manifest_json.size()),
                          {}};
  return d;
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view where) {
  ZTP_ASSIGN_OR_RETURN(const json& j, parse_object(text, where));
  auto version = j.find("schemaVersion");
  if (version == j.end() || !version->is_number_integer() || *version != 2) {
    return make_error(Errc::invalid,
                      fmt::format("{}: not an image manifest (schemaVersion is not 2)", where));
  }
  Manifest m;
  ZTP_ASSIGN_OR_RETURN(m.media_type, optional_string(j, "mediaType", k_media_manifest, where));
  if (j.contains("manifests")) {
    return make_error(Errc::invalid,
                      fmt::format("{}: this is an image index, not an image manifest", where));
  }
  auto cfg = j.find("config");
  if (cfg == j.end()) {
    return make_error(Errc::invalid, fmt::format("{}: the manifest has no config", where));
  }
  ZTP_ASSIGN_OR_RETURN(m.config, descriptor_from_json(*cfg, fmt::format("{} config", where)));
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) {
    return make_error(Errc::invalid, fmt::format("{}: the manifest has no layers array", where));
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    ZTP_ASSIGN_OR_RETURN(auto l,
                         descriptor_from_json((*layers)[i], fmt::format("{} layer {}", where, i)));
    m.layers.push_back(std::move(l));
  }
  auto an = j.find("annotations");
  if (an != j.end() && an->is_object()) {
    for (const auto& [k, v] : an->items()) {
      if (v.is_string()) {
        m.annotations[k] = v.get<std::string>();
      }
    }
  }
  return m;
}

Result<ImageConfig> parse_config(std::string_view text, std::string_view where) {
  ZTP_ASSIGN_OR_RETURN(const json& j, parse_object(text, where));
  ImageConfig c;
  if (!j.contains("architecture") || !j["architecture"].is_string() || !j.contains("os") ||
      !j["os"].is_string()) {
    return make_error(Errc::invalid,
                      fmt::format("{}: the image config has no architecture or os", where));
  }
  c.architecture = j["architecture"].get<std::string>();
  c.os = j["os"].get<std::string>();
  ZTP_ASSIGN_OR_RETURN(c.created, optional_string(j, "created", "", where));
  auto rootfs = j.find("rootfs");
  if (rootfs == j.end() || !rootfs->is_object() || !rootfs->contains("diff_ids")) {
    return make_error(Errc::invalid, fmt::format("{}: the image config has no rootfs", where));
  }
  ZTP_ASSIGN_OR_RETURN(c.diff_ids, string_array((*rootfs)["diff_ids"], "rootfs.diff_ids", where));
  auto cfg = j.find("config");
  if (cfg != j.end() && cfg->is_object()) {
    for (auto [field, out] : {std::pair{"Entrypoint", &c.entrypoint}, std::pair{"Cmd", &c.cmd},
                              std::pair{"Env", &c.env}}) {
      if (cfg->contains(field)) {
        ZTP_ASSIGN_OR_RETURN(*out,
                             string_array((*cfg)[field], fmt::format("config.{}", field), where));
      }
    }
    if (cfg->contains("ExposedPorts") && (*cfg)["ExposedPorts"].is_object()) {
      for (const auto& [port, _] : (*cfg)["ExposedPorts"].items()) {
        c.exposed_ports.push_back(port);
      }
    }
    ZTP_ASSIGN_OR_RETURN(c.working_dir, optional_string(*cfg, "WorkingDir", "", where));
    if (cfg->contains("Labels") && (*cfg)["Labels"].is_object()) {
      for (const auto& [k, v] : (*cfg)["Labels"].items()) {
        if (v.is_string()) {
          c.labels[k] = v.get<std::string>();
        }
      }
    }
  }
  return c;
}

}  // namespace ztp::artifact
