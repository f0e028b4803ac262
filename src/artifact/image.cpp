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
  if (!in.base_name.empty()) {
    out[k_annotation_base_name] = in.base_name;
  }
  if (!in.base_digest.empty()) {
    out[k_annotation_base_digest] = in.base_digest;
  }
  return out;
}

namespace {

// The base's Env with `env` merged in: a variable the base sets keeps its place with our value,
// new ones follow in name order.
json merged_env(const json& base, const std::map<std::string, std::string>& env) {
  json out = json::array();
  std::map<std::string, std::string> rest = env;
  if (base.is_array()) {
    for (const auto& item : base) {
      if (!item.is_string()) {
        continue;
      }
      std::string kv = item.get<std::string>();
      std::string name = kv.substr(0, kv.find('='));
      auto it = rest.find(name);
      if (it != rest.end()) {
        out.push_back(name + "=" + it->second);
        rest.erase(it);
      } else {
        out.push_back(kv);
      }
    }
  }
  for (const auto& [k, v] : rest) {
    out.push_back(k + "=" + v);
  }
  return out;
}

// The history of the image: the base's entries as they were (when they account for its
// layers), or one line per base layer, then one per layer of ours.
json make_history(const ImageSpecInputs& in, const std::vector<LayerRef>& layers,
                  const std::string& created) {
  json history = json::array();
  size_t ours = 0;
  if (in.base_history.is_array()) {
    size_t base_layers = 0;
    for (const auto& h : in.base_history) {
      base_layers += h.is_object() && h.value("empty_layer", false) ? 0 : 1;
    }
    if (base_layers == in.base_layers.size() && layers.size() >= base_layers) {
      history = in.base_history;
      ours = base_layers;
    }
  }
  for (size_t i = ours; i < layers.size(); ++i) {
    history.push_back(json{{"created", created}, {"created_by", layers[i].created_by}});
  }
  return history;
}

}  // namespace

nlohmann::json make_config(const ImageSpecInputs& in, const std::vector<LayerRef>& layers) {
  std::string created = sys::format_rfc3339(sys::WallTime(std::chrono::seconds(in.created)),
                                            sys::TimePrecision::seconds);
  json cfg = in.base_config.is_object() ? in.base_config : json::object();
  if (!in.entrypoint.empty()) {
    cfg["Entrypoint"] = in.entrypoint;
    // A new entrypoint makes the base's arguments meaningless, as in a Dockerfile.
    cfg.erase("Cmd");
  }
  if (!in.cmd.empty()) {
    cfg["Cmd"] = in.cmd;
  }
  json env = merged_env(cfg.value("Env", json()), in.env);
  if (!env.empty()) {
    cfg["Env"] = env;
  }
  std::vector<std::string> ports = in.exposed_ports;
  if (in.exposed_port > 0) {
    ports.push_back(fmt::format("{}/tcp", in.exposed_port));
  }
  for (const auto& port : ports) {
    if (!cfg["ExposedPorts"].is_object()) {
      cfg["ExposedPorts"] = json::object();
    }
    cfg["ExposedPorts"][port] = json::object();
  }
  if (!in.working_dir.empty()) {
    cfg["WorkingDir"] = in.working_dir;
  } else if (!cfg.contains("WorkingDir") || !cfg["WorkingDir"].is_string() ||
             cfg["WorkingDir"].get<std::string>().empty()) {
    cfg["WorkingDir"] = "/";
  }
  if (!in.user.empty()) {
    cfg["User"] = in.user;
  }
  if (!in.stop_signal.empty()) {
    cfg["StopSignal"] = in.stop_signal;
  }
  if (!in.healthcheck.is_null()) {
    cfg["Healthcheck"] = in.healthcheck;
  }
  json labels = cfg.value("Labels", json::object());
  if (!labels.is_object()) {
    labels = json::object();
  }
  for (const auto& [k, v] : in.labels) {
    labels[k] = v;
  }
  for (const auto& [k, v] : oci_annotations(in)) {
    labels[k] = v;
  }
  cfg["Labels"] = labels;

  json diff_ids = json::array();
  for (const auto& l : layers) {
    diff_ids.push_back(l.diff_id);
  }
  json out{{"architecture", in.architecture},
           {"os", in.os},
           {"created", created},
           {"config", cfg},
           {"rootfs", json{{"type", "layers"}, {"diff_ids", diff_ids}}},
           {"history", make_history(in, layers, created)}};
  if (!in.variant.empty()) {
    out["variant"] = in.variant;
  }
  return out;
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
  if (auto history = j.find("history"); history != j.end() && history->is_array()) {
    c.history = *history;
  }
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
    ZTP_ASSIGN_OR_RETURN(c.user, optional_string(*cfg, "User", "", where));
    ZTP_ASSIGN_OR_RETURN(c.stop_signal, optional_string(*cfg, "StopSignal", "", where));
    c.config = *cfg;
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
