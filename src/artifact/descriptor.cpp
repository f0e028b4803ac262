#include "artifact/descriptor.hpp"

#include <fmt/format.h>

#include "artifact/digest.hpp"

namespace ztp::artifact {

nlohmann::json to_json(const Descriptor& d) {
  nlohmann::json j{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) {
    j["annotations"] = d.annotations;
  }
  return j;
}

Result<Descriptor> descriptor_from_json(const nlohmann::json& j, std::string_view where) {
  auto bad = [&](std::string_view what) {
    return make_error(Errc::invalid, fmt::format("{}: invalid descriptor: {}", where, what));
  };
  if (!j.is_object()) {
    return bad("not a JSON object");
  }
  Descriptor d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string()) {
    return bad("mediaType is missing");
  }
  d.media_type = mt->get<std::string>();
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string() || !is_sha256_digest(dg->get<std::string>())) {
    return bad("digest is missing or not sha256:<64 hex>");
  }
  d.digest = dg->get<std::string>();
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_integer() || sz->get<std::int64_t>() < 0) {
    return bad("size is missing or negative");
  }
  d.size = sz->get<std::int64_t>();
  auto an = j.find("annotations");
  if (an != j.end()) {
    if (!an->is_object()) {
      return bad("annotations is not an object");
    }
    for (const auto& [k, v] : an->items()) {
      if (!v.is_string()) {
        return bad(fmt::format("annotation {} is not a string", k));
      }
      d.annotations[k] = v.get<std::string>();
    }
  }
  return d;
}

}  // namespace ztp::artifact
