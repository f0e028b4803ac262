#include "artifact/image_index.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "artifact/image.hpp"

namespace ztp::artifact {

using nlohmann::json;

bool is_index_media_type(std::string_view media_type) {
  return media_type == k_media_index ||
         media_type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

Result<Descriptor> select_platform(std::string_view bytes, const Platform& platform,
                                   const std::string& where, std::string_view fix) {
  json index = json::parse(bytes, nullptr, false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return make_error(Errc::invalid, fmt::format("{}: the image index has no manifests", where));
  }
  std::optional<Descriptor> loose;
  std::vector<std::string> offered;
  for (size_t i = 0; i < index["manifests"].size(); ++i) {
    const json& m = index["manifests"][i];
    ZTP_ASSIGN_OR_RETURN(auto d, descriptor_from_json(m, fmt::format("{} manifest {}", where, i)));
    if (!m.contains("platform") || !m["platform"].is_object()) {
      continue;
    }
    const json& p = m["platform"];
    Platform have{p.value("os", std::string()), p.value("architecture", std::string()),
                  p.value("variant", std::string())};
    if (have.os == "unknown" || have.architecture == "unknown") {
      continue;  // attestations and signatures, not images
    }
    offered.push_back(have.str());
    if (have.os != platform.os || have.architecture != platform.architecture) {
      continue;
    }
    if (have.variant == platform.variant) {
      return d;
    }
    if (platform.variant.empty() && !loose) {
      loose = d;
    }
  }
  if (loose) {
    return *loose;
  }
  return make_error(
      Errc::not_found,
      fmt::format("{}: the image has no manifest for {} (it has: {}); {}", where, platform.str(),
                  offered.empty() ? "none" : fmt::format("{}", fmt::join(offered, ", ")), fix));
}

std::string make_index_json(const std::vector<std::pair<Descriptor, Platform>>& manifests) {
  json list = json::array();
  for (const auto& [d, p] : manifests) {
    json entry = to_json(d);
    json platform{{"architecture", p.architecture}, {"os", p.os}};
    if (!p.variant.empty()) {
      platform["variant"] = p.variant;
    }
    entry["platform"] = std::move(platform);
    list.push_back(std::move(entry));
  }
  return canonical_json(
      json{{"schemaVersion", 2}, {"mediaType", k_media_index}, {"manifests", std::move(list)}});
}

Result<Descriptor> manifest_for_platform(const OciLayoutStore& store, const Descriptor& image,
                                         const Platform& platform) {
  if (!is_index_media_type(image.media_type)) {
    return image;
  }
  ZTP_ASSIGN_OR_RETURN(auto bytes, store.read_blob(image.digest));
  return select_platform(bytes, platform, fmt::format("image {}", image.digest),
                         "build it for this platform too (build.platforms)");
}

Result<std::vector<std::pair<Descriptor, Platform>>> manifests_of(const OciLayoutStore& store,
                                                                  const Descriptor& image) {
  std::vector<std::pair<Descriptor, Platform>> out;
  if (!is_index_media_type(image.media_type)) {
    out.emplace_back(image, Platform{"", "", ""});
    return out;
  }
  ZTP_ASSIGN_OR_RETURN(auto bytes, store.read_blob(image.digest));
  json index = json::parse(bytes, nullptr, false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return make_error(Errc::invalid, fmt::format("image index {} has no manifests", image.digest));
  }
  for (size_t i = 0; i < index["manifests"].size(); ++i) {
    const json& m = index["manifests"][i];
    ZTP_ASSIGN_OR_RETURN(auto d, descriptor_from_json(m, fmt::format("image index {} manifest {}",
                                                                     image.digest, i)));
    Platform p{"", "", ""};
    if (m.contains("platform") && m["platform"].is_object()) {
      p = Platform{m["platform"].value("os", std::string()),
                   m["platform"].value("architecture", std::string()),
                   m["platform"].value("variant", std::string())};
    }
    out.emplace_back(std::move(d), std::move(p));
  }
  return out;
}

}  // namespace ztp::artifact
