#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/descriptor.hpp"
#include "artifact/oci_layout_store.hpp"
#include "artifact/registry_auth.hpp"
#include "spec/spec.hpp"
#include "sys/http.hpp"
#include "util/result.hpp"

namespace ztp::artifact {

class RegistrySession;

// How long a registry request may take: `connect` to open the connection, `stall` without a
// single byte moving either way (the transfer is then abandoned with Errc::timeout).
struct RegistryTimeouts {
  std::chrono::milliseconds connect{10'000};
  std::chrono::seconds stall{30};
};

// Setting this to 1 talks plain http to a registry that is not on loopback.
inline constexpr const char* k_env_registry_plain_http = "ZTP_REGISTRY_PLAIN_HTTP";

// Where a repository lives: the registry's "host[:port]" (an IPv6 host in brackets), the
// repository name in it, and whether to speak http instead of https.
struct RegistryEndpoint {
  std::string host;
  std::string repository;
  bool plain_http = false;
};

// What a push did: blobs (config and layers) uploaded or found already in the registry.
struct PushStats {
  int blobs_uploaded = 0;
  int blobs_skipped = 0;
  std::int64_t bytes_uploaded = 0;
  std::vector<std::string> uploaded;  // digests, in manifest order (config first)
  std::vector<std::string> skipped;   // digests
  std::vector<std::string> mounted;   // digests linked from the base image's repository
};

// A manifest or an image index as the registry served it, verified against its digest.
struct FetchedManifest {
  std::string bytes;
  std::string digest;
  std::string media_type;  // from the document (an index when it lists manifests)
};

struct PushOptions {
  std::int64_t chunk_size = 0;  // 0: each blob in one PUT; >0: PATCH chunks of this many bytes
};

// A client of one repository of a registry that speaks the OCI distribution API (v2): push
// from and pull into an OCI image layout, every blob content-addressed and verified. One
// connection is kept alive across calls. Not thread-safe: one client per thread.
//
// Errors: unavailable when the registry does not answer (or answers 5xx/429), timeout when a
// transfer stalls, refused for 401/403 once credentials were tried, not_found for 404, invalid
// for any other refusal or a malformed answer. Messages name the registry, the request and the
// registry's own errors[].message, never the credentials.
class RegistryClient {
 public:
  // A client of `endpoint`; invalid when the host or the repository name is malformed.
  static Result<RegistryClient> create(RegistryEndpoint endpoint, RegistryAuth auth = {});
  // A client of the `registry:` of ztp.yaml (kind oci), credentials from the environment
  // (RegistryAuth::from_environment). Plain http for loopback hosts (127.0.0.1, localhost,
  // ::1) or when ZTP_REGISTRY_PLAIN_HTTP=1, https otherwise. invalid for another kind.
  static Result<RegistryClient> from_spec(const spec::Registry& registry);

  RegistryClient(RegistryClient&&) noexcept;
  RegistryClient& operator=(RegistryClient&&) noexcept;
  ~RegistryClient();

  // Changes the connect and stall timeouts of the following requests.
  void set_timeouts(RegistryTimeouts timeouts);

  // GET /v2/: ok when the registry answers 200 (after authenticating when it asks).
  Result<void> ping();
  // HEAD of a blob: whether the repository has it.
  Result<bool> has_blob(std::string_view digest);

  // Pushes the image manifest `manifest` with its config and layers, all read from `store`.
  // Each blob is HEAD-checked first and uploaded only when the registry lacks it (POST then
  // PUT, or PATCH chunks when opts.chunk_size > 0). When the manifest's base.name annotation
  // names a repository of the same registry, a missing layer is first mounted from there
  // (cross-repository mount), and uploaded only when the registry declines. Then PUTs the manifest
  // under each of `tags` (under its digest when `tags` is empty), checking the
  // Docker-Content-Digest the registry answers against the manifest's digest.
  Result<PushStats> push(const OciLayoutStore& store, const Descriptor& manifest,
                         const std::vector<std::string>& tags, const PushOptions& opts = {});

  // Pulls the image manifest `ref` (a tag or "sha256:<hex>") with its config and layers into
  // `store`, skipping blobs the store has. Every download is checked against its digest and
  // size before it is stored; a mismatch is an error naming the digest, and the manifest is
  // then neither stored nor tagged. The manifest is tagged `ref` when `ref` is a tag.
  Result<Descriptor> pull(std::string_view ref, OciLayoutStore& store);

  // The manifest or image index `ref` (a tag or a digest) names, checked against the digest
  // the registry announces (and against `ref` when it is one). Nothing is stored.
  Result<FetchedManifest> fetch_manifest(std::string_view ref);

  // The descriptor (media type, digest, size) of the manifest `ref` names in the registry.
  Result<Descriptor> resolve(std::string_view ref);

  const RegistryEndpoint& endpoint() const;

 private:
  explicit RegistryClient(std::unique_ptr<RegistrySession> session);
  std::unique_ptr<RegistrySession> m_session;
};

// Whether `host` ("host[:port]", "[v6]:port") is a loopback address or localhost.
bool is_loopback_host(std::string_view host);

}  // namespace ztp::artifact
