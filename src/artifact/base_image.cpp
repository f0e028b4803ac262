#include "artifact/base_image.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "artifact/image_index.hpp"

namespace ztp::artifact {
namespace {

using nlohmann::json;

constexpr std::string_view k_base_fix = "choose build.platforms among those, or another base";

constexpr const char* k_docker_hub = "registry-1.docker.io";

// The OCI layer media type for a layer of an image in Docker's format (same bytes).
Result<std::string> oci_layer_type(const std::string& media_type, const std::string& where) {
  if (media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip") {
    return std::string(k_media_layer_gzip);
  }
  if (media_type == "application/vnd.docker.image.rootfs.diff.tar") {
    return std::string(k_media_layer_tar);
  }
  if (media_type.find("foreign") != std::string::npos ||
      media_type.find("nondistributable") != std::string::npos) {
    return make_error(Errc::invalid,
                      fmt::format("{}: a layer of type {} may not be redistributed; choose a base "
                                  "without foreign layers",
                                  where, media_type));
  }
  if (media_type.rfind("application/vnd.oci.image.layer.v1.tar", 0) == 0) {
    return media_type;
  }
  return make_error(Errc::invalid,
                    fmt::format("{}: {} is not a layer media type ztp knows", where, media_type));
}

// Copies a verified blob from `from` into `to` unless it is there already.
Result<void> copy_blob(const OciLayoutStore& from, const Descriptor& d, OciLayoutStore& to) {
  if (to.has_blob(d.digest)) {
    return {};
  }
  ZTP_ASSIGN_OR_RETURN(auto bytes, from.read_blob(d.digest));
  ZTP_TRY(to.put_blob(bytes, d.media_type));
  return {};
}

// Reads the image manifest `manifest` (in `store` already) into a BaseImage.
Result<BaseImage> describe(const BaseRef& ref, const Descriptor& manifest, const Platform& platform,
                           const OciLayoutStore& store) {
  const std::string where = fmt::format("base image {}", ref.text);
  ZTP_ASSIGN_OR_RETURN(auto m, store.read_manifest(manifest));
  ZTP_ASSIGN_OR_RETURN(auto config, store.read_config(manifest));
  if (config.os != platform.os || config.architecture != platform.architecture) {
    return make_error(Errc::invalid,
                      fmt::format("{}: the image is for {}/{}, not {}; choose build.platforms to "
                                  "match, or another base",
                                  where, config.os, config.architecture, platform.str()));
  }
  if (config.diff_ids.size() != m.layers.size()) {
    return make_error(Errc::invalid,
                      fmt::format("{}: its config lists {} layer digest(s) for {} layer(s)", where,
                                  config.diff_ids.size(), m.layers.size()));
  }
  BaseImage out;
  out.name = ref.text;
  out.digest = manifest.digest;
  out.manifest = manifest;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    Descriptor layer = m.layers[i];
    ZTP_ASSIGN_OR_RETURN(layer.media_type, oci_layer_type(layer.media_type, where));
    out.layers.push_back(LayerRef{layer, config.diff_ids[i], fmt::format("FROM {}", ref.text)});
  }
  out.config = std::move(config);
  return out;
}

Result<BaseImage> pull_from_layout(const BaseRef& ref, const Platform& platform,
                                   OciLayoutStore& store) {
  const std::string where = fmt::format("base image {}", ref.text);
  if (!std::filesystem::exists(ref.layout / "oci-layout")) {
    return make_error(Errc::not_found,
                      fmt::format("{}: {} is not an OCI image layout (it has no oci-layout file); "
                                  "write one with `skopeo copy docker://IMAGE oci:DIR:TAG`",
                                  where, ref.layout.string()));
  }
  ZTP_ASSIGN_OR_RETURN(auto layout, OciLayoutStore::open(ref.layout));
  Descriptor top;
  if (ref.layout_ref.empty()) {
    ZTP_ASSIGN_OR_RETURN(auto entries, layout.entries());
    if (entries.size() != 1) {
      return make_error(Errc::invalid,
                        fmt::format("{}: the layout holds {} images; name one as oci:PATH:TAG",
                                    where, entries.size()));
    }
    top = entries.front().manifest;
  } else {
    ZTP_ASSIGN_OR_RETURN(top, layout.resolve(ref.layout_ref));
  }
  Descriptor manifest = top;
  if (is_index_media_type(top.media_type)) {
    ZTP_ASSIGN_OR_RETURN(auto index, layout.read_blob(top.digest));
    ZTP_ASSIGN_OR_RETURN(manifest, select_platform(index, platform, where, k_base_fix));
  }
  ZTP_ASSIGN_OR_RETURN(auto bytes, layout.read_blob(manifest.digest));
  ZTP_ASSIGN_OR_RETURN(auto parsed, parse_manifest(bytes, where));
  ZTP_TRY(copy_blob(layout, parsed.config, store));
  for (const auto& l : parsed.layers) {
    ZTP_TRY(copy_blob(layout, l, store));
  }
  ZTP_ASSIGN_OR_RETURN(auto stored, store.put_manifest(bytes, {}));
  return describe(ref, stored, platform, store);
}

Result<BaseImage> pull_from_registry(const BaseRef& ref, const Platform& platform,
                                     OciLayoutStore& store) {
  ZTP_ASSIGN_OR_RETURN(auto auth, RegistryAuth::for_registry(ref.endpoint.host));
  ZTP_ASSIGN_OR_RETURN(auto client, RegistryClient::create(ref.endpoint, std::move(auth)));
  ZTP_ASSIGN_OR_RETURN(auto top, client.fetch_manifest(ref.reference));
  std::string digest = top.digest;
  if (is_index_media_type(top.media_type)) {
    ZTP_ASSIGN_OR_RETURN(
        auto chosen,
        select_platform(top.bytes, platform, fmt::format("base image {}", ref.text), k_base_fix));
    digest = chosen.digest;
  }
  ZTP_ASSIGN_OR_RETURN(auto manifest, client.pull(digest, store));
  return describe(ref, manifest, platform, store);
}

bool looks_like_host(std::string_view component) {
  return component.find_first_of(".:") != std::string_view::npos || component == "localhost";
}

}  // namespace

std::string Platform::str() const {
  return variant.empty() ? fmt::format("{}/{}", os, architecture)
                         : fmt::format("{}/{}/{}", os, architecture, variant);
}

Platform host_platform() {
  utsname u{};
  ::uname(&u);
  std::string machine = u.machine;
  Platform p;
  if (machine == "x86_64") {
    p.architecture = "amd64";
  } else if (machine == "aarch64" || machine == "arm64") {
    p.architecture = "arm64";
  } else if (machine.rfind("armv7", 0) == 0) {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (machine == "i686" || machine == "i386") {
    p.architecture = "386";
  } else {
    p.architecture = machine;  // ppc64le, s390x, riscv64 share their names
  }
  return p;
}

Result<Platform> parse_platform(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  bool empty_part = false;
  for (const auto& p : parts) {
    empty_part = empty_part || p.empty();
  }
  if (parts.size() < 2 || parts.size() > 3 || empty_part) {
    return make_error(
        Errc::invalid,
        fmt::format("platform `{}` is not os/arch[/variant], like linux/arm64", text));
  }
  return Platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
}

Result<BaseRef> parse_base_ref(std::string_view text, const std::filesystem::path& base_dir) {
  BaseRef ref;
  ref.text = std::string(text);
  if (text.rfind("oci:", 0) == 0) {
    ref.kind = BaseRef::Kind::layout;
    std::string rest(text.substr(4));
    // A digest after '@', else a tag after the last ':' that follows the last '/'.
    size_t at = rest.find('@');
    size_t colon = rest.rfind(':');
    size_t slash = rest.rfind('/');
    if (at != std::string::npos) {
      ref.layout_ref = rest.substr(at + 1);
      rest.resize(at);
    } else if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      ref.layout_ref = rest.substr(colon + 1);
      rest.resize(colon);
    }
    if (rest.empty()) {
      return make_error(Errc::invalid,
                        fmt::format("`{}` names no directory; write oci:PATH[:TAG]", text));
    }
    std::filesystem::path p(rest);
    ref.layout = p.is_absolute() ? p : base_dir / p;
    return ref;
  }
  std::string rest(text);
  std::string digest;
  if (size_t at = rest.find('@'); at != std::string::npos) {
    digest = rest.substr(at + 1);
    rest.resize(at);
    if (!is_sha256_digest(digest)) {
      return make_error(Errc::invalid,
                        fmt::format("`{}`: `{}` is not a sha256:<64 hex> digest", text, digest));
    }
  }
  std::string tag;
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (!is_valid_tag(tag)) {
      return make_error(Errc::invalid, fmt::format("`{}`: `{}` is not a valid tag", text, tag));
    }
  }
  std::string host;
  std::string name = rest;
  if (size_t first = rest.find('/');
      first != std::string::npos && looks_like_host(std::string_view(rest).substr(0, first))) {
    host = rest.substr(0, first);
    name = rest.substr(first + 1);
  }
  if (host.empty() || host == "docker.io" || host == "index.docker.io") {
    host = k_docker_hub;
    if (name.find('/') == std::string::npos) {
      name = "library/" + name;
    }
  }
  static const auto valid_name = [](const std::string& n) {
    if (n.empty() || n.front() == '/' || n.back() == '/') {
      return false;
    }
    for (char c : n) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-' || c == '/';
      if (!ok) {
        return false;
      }
    }
    return true;
  };
  if (!valid_name(name)) {
    return make_error(Errc::invalid,
                      fmt::format("`{}` is not an image reference: the repository `{}` must be "
                                  "lower-case letters, digits and . _ - /",
                                  text, name));
  }
  ref.endpoint.host = host;
  ref.endpoint.repository = name;
  const char* plain = std::getenv(k_env_registry_plain_http);
  ref.endpoint.plain_http =
      is_loopback_host(host) || (plain != nullptr && std::string(plain) == "1");
  ref.reference = !digest.empty() ? digest : (tag.empty() ? "latest" : tag);
  return ref;
}

Result<BaseImage> pull_base(const BaseRef& ref, const Platform& platform, OciLayoutStore& store) {
  auto pulled = ref.kind == BaseRef::Kind::layout ? pull_from_layout(ref, platform, store)
                                                  : pull_from_registry(ref, platform, store);
  if (!pulled.ok() && pulled.error().message.find(ref.text) == std::string::npos) {
    Error e = pulled.take_error();
    e.message = fmt::format("base image {}: {}", ref.text, e.message);
    return e;
  }
  return pulled;
}

}  // namespace ztp::artifact
