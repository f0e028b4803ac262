#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "artifact/descriptor.hpp"
#include "artifact/registry_auth.hpp"
#include "artifact/registry_client.hpp"
#include "sys/http.hpp"
#include "util/result.hpp"

namespace ztp::artifact {

// The exchanges of the OCI distribution API that RegistryClient composes, over one kept-alive
// connection: authenticated requests whose errors name the registry and the request, blob
// checks, uploads and downloads, manifest uploads. Not thread-safe.
class RegistrySession {
 public:
  RegistrySession(RegistryEndpoint endpoint, RegistryAuth auth);
  RegistrySession(const RegistrySession&) = delete;
  RegistrySession& operator=(const RegistrySession&) = delete;

  const RegistryEndpoint& endpoint() const { return m_endpoint; }
  void set_timeouts(RegistryTimeouts timeouts) {
    m_http.options().connect_timeout = timeouts.connect;
    m_http.options().stall = timeouts.stall;
  }
  // "http[s]://host" + `path`.
  std::string url(std::string_view path) const;

  // Sends `req` with the credentials `scope` needs, answering one 401 challenge. An error when
  // the registry does not answer or answers a status outside `ok` (see RegistryClient).
  Result<sys::HttpResponse> call(const sys::HttpRequest& req, const std::string& scope,
                                 std::initializer_list<long> ok);

  // HEAD /v2/<name>/blobs/<digest>: true on 200, false on 404.
  Result<bool> has_blob(std::string_view digest, const std::string& scope);
  // POST /v2/<name>/blobs/uploads/, then one PUT ?digest= of `bytes` (chunk_size 0) or PATCH
  // chunks with Content-Range and a closing PUT. The upload is cancelled (DELETE) on failure.
  Result<void> upload_blob(const std::string& digest, std::string_view bytes,
                           std::int64_t chunk_size, const std::string& scope);
  // POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<from>: true when the registry linked
  // the blob from the repository `from` (201); false when it cannot (it then started an upload,
  // which is cancelled) or refused.
  bool mount_blob(const std::string& digest, const std::string& from, const std::string& scope);
  // GET of `blob`, checked against its digest and size: invalid naming the digest otherwise.
  Result<std::string> get_blob(const Descriptor& blob, const std::string& scope);
  // PUT /v2/<name>/manifests/<ref> of `bytes` as `media_type`; the Docker-Content-Digest the
  // registry answers must be `digest`.
  Result<void> put_manifest(const std::string& ref, std::string_view bytes,
                            const std::string& media_type, const std::string& digest,
                            const std::string& scope);

 private:
  Result<sys::HttpResponse> send(const sys::HttpRequest& req, const std::string& scope);
  Error status_error(const sys::HttpRequest& req, const sys::HttpResponse& res) const;
  Error transport_error(const sys::HttpRequest& req, const Error& cause) const;
  // "PUT /v2/app/blobs/uploads/<id>": the method and path, without the query (which may
  // carry an upload's opaque state).
  std::string describe(const sys::HttpRequest& req) const;
  Result<std::string> location(const sys::HttpRequest& req, const sys::HttpResponse& res) const;
  void cancel_upload(const std::string& upload_url, const std::string& scope);

  RegistryEndpoint m_endpoint;
  std::string m_base;
  sys::HttpClient m_http;
  RegistryAuthenticator m_auth;
};

}  // namespace ztp::artifact
