#include "artifact/registry_client.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "artifact/base_image.hpp"
#include "artifact/digest.hpp"
#include "artifact/image.hpp"
#include "artifact/image_index.hpp"
#include "artifact/registry_session.hpp"
#include "spec/address.hpp"

namespace ztp::artifact {
namespace {

constexpr const char* k_media_docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr std::int64_t k_max_manifest = 8 << 20;

constexpr const char* k_media_docker_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";

std::pair<std::string, std::string> accept_manifests(bool with_index = false) {
  if (with_index) {
    return {"Accept", fmt::format("{}, {}, {}, {}", k_media_manifest, k_media_docker_manifest,
                                  k_media_index, k_media_docker_list)};
  }
  return {"Accept", fmt::format("{}, {}", k_media_manifest, k_media_docker_manifest)};
}

bool is_manifest_type(std::string_view media_type) {
  return media_type == k_media_manifest || media_type == k_media_docker_manifest;
}

bool is_index_type(std::string_view media_type) {
  return media_type == k_media_index || media_type == k_media_docker_list;
}

// The Content-Type without parameters.
std::string media_type_of(const sys::HttpResponse& res) {
  std::string type = res.header("content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') {
    type.pop_back();
  }
  return type;
}

Result<void> check_ref(std::string_view ref) {
  if (is_sha256_digest(ref) || is_valid_tag(ref)) {
    return {};
  }
  return make_error(Errc::invalid, fmt::format("\"{}\" is neither a tag ([A-Za-z0-9_][A-Za-z0-9._-]"
                                               "{{0,127}}) nor a sha256:<64 hex> digest",
                                               ref));
}

// The config and layers of `m`, each digest once, config first.
std::vector<Descriptor> blobs_of(const Manifest& m) {
  std::vector<Descriptor> out{m.config};
  std::set<std::string> seen{m.config.digest};
  for (const auto& l : m.layers) {
    if (seen.insert(l.digest).second) {
      out.push_back(l);
    }
  }
  return out;
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  std::string name;
  if (!host.empty() && host.front() == '[') {
    name = std::string(host.substr(1, host.find(']') - 1));
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    name = std::string(host.substr(0, host.find(':')));
  } else {
    name = std::string(host);
  }
  if (name == "localhost") {
    return true;
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, name.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return ::inet_pton(AF_INET6, name.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

RegistryClient::RegistryClient(std::unique_ptr<RegistrySession> session)
    : m_session(std::move(session)) {}
RegistryClient::RegistryClient(RegistryClient&&) noexcept = default;
RegistryClient& RegistryClient::operator=(RegistryClient&&) noexcept = default;
RegistryClient::~RegistryClient() = default;

Result<RegistryClient> RegistryClient::create(RegistryEndpoint endpoint, RegistryAuth auth) {
  if (endpoint.host.empty()) {
    return make_error(Errc::invalid, "the registry host is empty; write host[:port]");
  }
  // The same rules as `registry: oci://host[:port]/repo` in ztp.yaml.
  auto checked =
      spec::parse_registry(fmt::format("oci://{}/{}", endpoint.host, endpoint.repository));
  if (!checked.ok()) {
    return make_error(Errc::invalid, fmt::format("registry {}/{}: {}", endpoint.host,
                                                 endpoint.repository, checked.error().message));
  }
  return RegistryClient(std::make_unique<RegistrySession>(std::move(endpoint), std::move(auth)));
}

Result<RegistryClient> RegistryClient::from_spec(const spec::Registry& registry) {
  if (registry.kind == spec::Registry::Kind::ecr) {
    // ECR speaks the distribution API too, behind Basic auth with a short-lived password.
    return make_error(
        Errc::invalid,
        fmt::format("registry: {} needs the ECR client, which this OCI registry client is not; "
                    "to push with it, write registry: oci://{}/{} in ztp.yaml and set {}=AWS and "
                    "{}=\"$(aws ecr get-login-password)\"",
                    registry.url, registry.host, registry.repository, k_env_registry_username,
                    k_env_registry_password));
  }
  if (registry.kind != spec::Registry::Kind::oci) {
    return make_error(Errc::invalid,
                      fmt::format("registry: {} keeps images in the local image layout, there is "
                                  "no registry to talk to; write registry: oci://host[:port]/repo "
                                  "in ztp.yaml to use one",
                                  registry.url));
  }
  RegistryEndpoint endpoint;
  endpoint.host = registry.host;
  endpoint.repository = registry.repository;
  const char* plain = std::getenv(k_env_registry_plain_http);
  endpoint.plain_http =
      is_loopback_host(registry.host) || (plain != nullptr && std::string_view(plain) == "1");
  ZTP_ASSIGN_OR_RETURN(auto auth, RegistryAuth::for_registry(registry.host));
  return create(std::move(endpoint), std::move(auth));
}

const RegistryEndpoint& RegistryClient::endpoint() const { return m_session->endpoint(); }

void RegistryClient::set_timeouts(RegistryTimeouts timeouts) { m_session->set_timeouts(timeouts); }

Result<void> RegistryClient::ping() {
  sys::HttpRequest req;
  req.url = m_session->url("/v2/");
  req.max_body = 1 << 20;
  ZTP_TRY(m_session->call(req, "", {200}));
  return {};
}

Result<bool> RegistryClient::has_blob(std::string_view digest) {
  if (!is_sha256_digest(digest)) {
    return make_error(Errc::invalid,
                      fmt::format("\"{}\" is not a sha256 digest (sha256:<64 hex>)", digest));
  }
  return m_session->has_blob(digest, repository_scope(m_session->endpoint().repository, false));
}

Result<PushStats> RegistryClient::push(const OciLayoutStore& store, const Descriptor& manifest,
                                       const std::vector<std::string>& tags,
                                       const PushOptions& opts) {
  ZTP_TRY(check_tags(tags));
  if (opts.chunk_size < 0) {
    return make_error(Errc::invalid, "the upload chunk size is negative; use 0 for one PUT");
  }
  ZTP_ASSIGN_OR_RETURN(auto manifest_bytes, store.read_blob(manifest.digest));
  const std::string scope = repository_scope(m_session->endpoint().repository, true);
  std::vector<std::string> refs = tags.empty() ? std::vector<std::string>{manifest.digest} : tags;
  if (is_index_media_type(manifest.media_type)) {
    // Each platform's image by digest, then the index under the tags.
    PushStats stats;
    ZTP_ASSIGN_OR_RETURN(auto children, manifests_of(store, manifest));
    for (const auto& [child, _] : children) {
      ZTP_ASSIGN_OR_RETURN(auto pushed, push(store, child, {}, opts));
      stats.bytes_uploaded += pushed.bytes_uploaded;
      // A blob the platforms share (the application layer) is counted once, where it went
      // first: uploaded by one platform's push, it is no skip of the next one's.
      auto merge = [](std::vector<std::string>& into, const std::vector<std::string>& from) {
        for (const auto& d : from) {
          if (std::find(into.begin(), into.end(), d) == into.end()) {
            into.push_back(d);
          }
        }
      };
      merge(stats.uploaded, pushed.uploaded);
      merge(stats.mounted, pushed.mounted);
      for (const auto& d : pushed.skipped) {
        auto known = [&](const std::vector<std::string>& v) {
          return std::find(v.begin(), v.end(), d) != v.end();
        };
        if (!known(stats.uploaded) && !known(stats.mounted) && !known(stats.skipped)) {
          stats.skipped.push_back(d);
        }
      }
    }
    stats.blobs_uploaded = static_cast<int>(stats.uploaded.size());
    stats.blobs_skipped = static_cast<int>(stats.skipped.size());
    for (const auto& ref : refs) {
      ZTP_TRY(m_session->put_manifest(ref, manifest_bytes, k_media_index, manifest.digest, scope));
    }
    return stats;
  }
  ZTP_ASSIGN_OR_RETURN(auto parsed,
                       parse_manifest(manifest_bytes, fmt::format("manifest {}", manifest.digest)));
  // The base image's repository, when it lives in this registry: its layers are mounted from
  // there rather than uploaded again.
  std::string mount_from;
  if (auto base = parsed.annotations.find(k_annotation_base_name);
      base != parsed.annotations.end()) {
    auto ref = parse_base_ref(base->second, "/");
    if (ref.ok() && ref->kind == BaseRef::Kind::registry &&
        ref->endpoint.host == m_session->endpoint().host &&
        ref->endpoint.repository != m_session->endpoint().repository) {
      mount_from = ref->endpoint.repository;
    }
  }
  PushStats stats;
  for (const auto& blob : blobs_of(parsed)) {
    ZTP_ASSIGN_OR_RETURN(auto present, m_session->has_blob(blob.digest, scope));
    if (present) {
      ++stats.blobs_skipped;
      stats.skipped.push_back(blob.digest);
      continue;
    }
    if (!mount_from.empty() && blob.digest != parsed.config.digest &&
        m_session->mount_blob(blob.digest, mount_from, scope)) {
      stats.mounted.push_back(blob.digest);
      continue;
    }
    ZTP_ASSIGN_OR_RETURN(auto bytes, store.read_blob(blob.digest));
    ZTP_TRY(m_session->upload_blob(blob.digest, bytes, opts.chunk_size, scope));
    ++stats.blobs_uploaded;
    stats.bytes_uploaded += static_cast<std::int64_t>(bytes.size());
    stats.uploaded.push_back(blob.digest);
  }
  for (const auto& ref : refs) {
    ZTP_TRY(
        m_session->put_manifest(ref, manifest_bytes, parsed.media_type, manifest.digest, scope));
  }
  return stats;
}

Result<FetchedManifest> RegistryClient::fetch_manifest(std::string_view ref) {
  ZTP_TRY(check_ref(ref));
  const std::string scope = repository_scope(m_session->endpoint().repository, false);
  sys::HttpRequest req;
  req.url =
      m_session->url(fmt::format("/v2/{}/manifests/{}", m_session->endpoint().repository, ref));
  req.headers.push_back(accept_manifests(true));
  req.follow_redirects = true;
  req.max_body = k_max_manifest;
  ZTP_ASSIGN_OR_RETURN(auto res, m_session->call(req, scope, {200}));
  FetchedManifest out;
  out.bytes = std::move(res.body);
  out.digest = sha256_digest(out.bytes);
  const std::string where =
      fmt::format("registry {}: manifest {}", m_session->endpoint().host, ref);
  if (is_sha256_digest(ref) && out.digest != ref) {
    return make_error(Errc::invalid, fmt::format("{}: the manifest received hashes to {}, not to "
                                                 "the digest asked for; nothing was stored",
                                                 where, out.digest));
  }
  std::string announced = res.header("docker-content-digest");
  if (is_sha256_digest(announced) && announced != out.digest) {
    return make_error(Errc::invalid,
                      fmt::format("{}: the registry announced digest {} but the manifest received "
                                  "hashes to {}; nothing was stored",
                                  where, announced, out.digest));
  }
  nlohmann::json j = nlohmann::json::parse(out.bytes, nullptr, false);
  if (!j.is_object()) {
    return make_error(Errc::invalid, fmt::format("{}: not a JSON object", where));
  }
  out.media_type = j.value("mediaType", std::string());
  if (out.media_type.empty()) {
    out.media_type = j.contains("manifests") ? k_media_index : k_media_manifest;
  }
  std::string content_type = media_type_of(res);
  if ((is_manifest_type(content_type) || is_index_type(content_type)) &&
      content_type != out.media_type) {
    return make_error(Errc::invalid,
                      fmt::format("{}: served as {} but its mediaType is {}; nothing was stored",
                                  where, content_type, out.media_type));
  }
  return out;
}

Result<Descriptor> RegistryClient::pull(std::string_view ref, OciLayoutStore& store) {
  ZTP_ASSIGN_OR_RETURN(auto fetched, fetch_manifest(ref));
  const std::string where =
      fmt::format("registry {}: manifest {}", m_session->endpoint().host, ref);
  if (is_index_type(fetched.media_type)) {
    return make_error(Errc::invalid,
                      fmt::format("{}: this is an image index, not an image manifest; pull one "
                                  "of its platforms' manifests by digest",
                                  where));
  }
  ZTP_ASSIGN_OR_RETURN(auto manifest, parse_manifest(fetched.bytes, where));
  if (!is_manifest_type(manifest.media_type)) {
    return make_error(Errc::invalid, fmt::format("{}: media type {} is not an image manifest ({} "
                                                 "or {})",
                                                 where, manifest.media_type, k_media_manifest,
                                                 k_media_docker_manifest));
  }
  const std::string scope = repository_scope(m_session->endpoint().repository, false);
  for (const auto& blob : blobs_of(manifest)) {
    if (store.has_blob(blob.digest)) {
      continue;
    }
    ZTP_ASSIGN_OR_RETURN(auto bytes, m_session->get_blob(blob, scope));
    ZTP_TRY(store.put_blob(bytes, blob.media_type));
  }
  std::vector<std::string> tags;
  if (!is_sha256_digest(ref)) {
    tags.emplace_back(ref);
  }
  return store.put_manifest(fetched.bytes, tags);
}

Result<Descriptor> RegistryClient::resolve(std::string_view ref) {
  ZTP_TRY(check_ref(ref));
  const std::string scope = repository_scope(m_session->endpoint().repository, false);
  sys::HttpRequest req;
  req.method = "HEAD";
  req.url =
      m_session->url(fmt::format("/v2/{}/manifests/{}", m_session->endpoint().repository, ref));
  req.headers.push_back(accept_manifests());
  req.follow_redirects = true;
  ZTP_ASSIGN_OR_RETURN(auto head, m_session->call(req, scope, {200}));
  Descriptor d;
  d.media_type = media_type_of(head);
  d.digest = head.header("docker-content-digest");
  std::string length = head.header("content-length");
  d.size = length.empty() ? -1 : std::strtoll(length.c_str(), nullptr, 10);
  if (!is_sha256_digest(d.digest) || d.size < 0 || d.media_type.empty()) {
    // An older registry without Docker-Content-Digest on HEAD: read the manifest and hash it.
    req.method = "GET";
    req.max_body = k_max_manifest;
    ZTP_ASSIGN_OR_RETURN(auto get, m_session->call(req, scope, {200}));
    ZTP_ASSIGN_OR_RETURN(auto manifest,
                         parse_manifest(get.body, fmt::format("registry {}: manifest {}",
                                                              m_session->endpoint().host, ref)));
    d.media_type = manifest.media_type;
    d.digest = sha256_digest(get.body);
    d.size = static_cast<std::int64_t>(get.body.size());
  }
  if (is_sha256_digest(ref) && d.digest != ref) {
    return make_error(Errc::invalid, fmt::format("registry {}: manifest {} is announced as {}",
                                                 m_session->endpoint().host, ref, d.digest));
  }
  return d;
}

}  // namespace ztp::artifact
