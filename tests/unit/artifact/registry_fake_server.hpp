#pragma once

// FakeRegistry, a small in-memory OCI distribution registry for the registry client's unit
// tests, on top of testing::FakeHttpServer, with knobs to misbehave (relative upload locations,
// corrupt blobs, altered digests) and to demand Basic or bearer-token auth from its own token
// endpoint.
#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "artifact/digest.hpp"
#include "support/fake_http_server.hpp"

namespace ztp::artifact::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using ztp::testing::FakeHttpServer;
using ztp::testing::FakeRequest;
using ztp::testing::FakeResponse;

// Bytes that gzip cannot shrink and no two seeds share, so a blob spans several upload chunks.
inline std::string noise(size_t n, unsigned seed) {
  std::string out(n, '\0');
  for (auto& c : out) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 16);
  }
  return out;
}

// An in-memory registry serving one or more repositories.
class FakeRegistry {
 public:
  struct Options {
    bool relative_location = false;        // upload Locations as paths, not absolute URLs
    std::string location_query;            // appended to upload Locations ("_state=abc")
    std::string basic;                     // "Basic <b64>": demand Basic auth with this header
    std::string bearer_basic;              // "Basic <b64>": demand bearer tokens, issued for this
    std::string token_field = "token";     // "token" or "access_token"
    std::string corrupt_blob;              // this blob is served with a flipped byte
    std::string announce_manifest_digest;  // answered on manifest PUT instead of the real one
    std::int64_t chunk_min = 0;            // OCI-Chunk-Min-Length of upload sessions
  };

  FakeRegistry() : FakeRegistry(Options{}) {}
  explicit FakeRegistry(Options options)
      : m_options(std::move(options)),
        m_server([this](const FakeRequest& r) { return handle(r); }) {}

  FakeHttpServer& server() { return m_server; }
  std::string host() const { return m_server.host(); }
  int token_requests() const { return m_server.count("GET", "/token"); }

  void put_blob(const std::string& bytes) {
    std::lock_guard lock(m_mu);
    m_blobs[sha256_digest(bytes)] = bytes;
  }
  bool has_blob(const std::string& digest) const {
    std::lock_guard lock(m_mu);
    return m_blobs.count(digest) > 0;
  }
  void put_manifest(const std::string& ref, const std::string& bytes, const std::string& type) {
    std::lock_guard lock(m_mu);
    m_manifests[ref] = {bytes, type};
    m_manifests[sha256_digest(bytes)] = {bytes, type};
  }
  // The manifest bytes stored under `ref`, or empty.
  std::string manifest(const std::string& ref) const {
    std::lock_guard lock(m_mu);
    auto it = m_manifests.find(ref);
    return it == m_manifests.end() ? std::string() : it->second.first;
  }

 private:
  static FakeResponse error(int status, const std::string& code, const std::string& message) {
    FakeResponse res;
    res.status = status;
    res.headers = {{"Content-Type", "application/json"}};
    res.body = nlohmann::json{{"errors", {{{"code", code}, {"message", message}}}}}.dump();
    return res;
  }

  std::string upload_location(const std::string& name, const std::string& id) const {
    std::string path = "/v2/" + name + "/blobs/uploads/" + id;
    if (!m_options.location_query.empty()) {
      path += "?" + m_options.location_query;
    }
    return m_options.relative_location ? path : "http://" + m_server.host() + path;
  }

  // The 401 (or nothing) a request gets from the auth the options demand.
  std::optional<FakeResponse> check_auth(const FakeRequest& r, const std::string& name) {
    std::string given = r.header("authorization");
    if (!m_options.basic.empty() && given != m_options.basic) {
      auto res = error(401, "UNAUTHORIZED", "authentication required");
      res.headers.emplace_back("WWW-Authenticate", "Basic realm=\"fake\"");
      return res;
    }
    if (m_options.bearer_basic.empty()) {
      return std::nullopt;
    }
    bool push = r.method != "GET" && r.method != "HEAD";
    std::string needed = name.empty() ? "" : "repository:" + name + (push ? ":pull,push" : ":pull");
    std::lock_guard lock(m_mu);
    auto it = m_tokens.find(given.substr(given.find(' ') + 1));
    // A pull,push token also grants pull: "repository:a:pull" is a prefix of it.
    bool granted = given.rfind("Bearer ", 0) == 0 && it != m_tokens.end() &&
                   it->second.find(needed) != std::string::npos;
    if (granted) {
      return std::nullopt;
    }
    auto res = error(401, "UNAUTHORIZED", "authentication required");
    std::string challenge =
        "Bearer realm=\"http://" + m_server.host() + "/token\",service=\"fake\"";
    if (!needed.empty()) {
      challenge += ",scope=\"" + needed + "\"";
    }
    res.headers.emplace_back("WWW-Authenticate", challenge);
    return res;
  }

  FakeResponse token(const FakeRequest& r) {
    if (r.header("authorization") != m_options.bearer_basic) {
      return error(401, "UNAUTHORIZED", "bad credentials");
    }
    std::lock_guard lock(m_mu);
    std::string issued = "tok-" + std::to_string(++m_issued);
    auto scope = r.query.find("scope");
    m_tokens[issued] = scope == r.query.end() ? "" : scope->second;
    FakeResponse res;
    res.headers = {{"Content-Type", "application/json"}};
    res.body = nlohmann::json{{m_options.token_field, issued}, {"expires_in", 300}}.dump();
    return res;
  }

  FakeResponse handle(const FakeRequest& r) {
    if (r.path == "/token") {
      return token(r);
    }
    if (r.path.rfind("/v2/", 0) != 0) {
      return error(404, "NOT_FOUND", "no such route");
    }
    std::string rest = r.path.substr(4);
    std::string name;
    std::string kind;
    std::string arg;
    for (const char* k : {"/blobs/uploads/", "/blobs/", "/manifests/"}) {
      size_t at = rest.find(k);
      if (at != std::string::npos) {
        name = rest.substr(0, at);
        kind = k;
        arg = rest.substr(at + std::string(k).size());
        break;
      }
    }
    if (auto denied = check_auth(r, name)) {
      return *denied;
    }
    if (rest.empty()) {
      FakeResponse res;
      res.body = "{}";
      return res;
    }
    std::lock_guard lock(m_mu);
    if (kind == "/blobs/uploads/") {
      return upload(r, name, arg);
    }
    if (kind == "/blobs/") {
      auto it = m_blobs.find(arg);
      if (it == m_blobs.end()) {
        return error(404, "BLOB_UNKNOWN", "blob unknown to registry");
      }
      FakeResponse res;
      res.headers = {{"Docker-Content-Digest", arg}, {"Content-Type", "application/octet-stream"}};
      res.body = it->second;
      if (arg == m_options.corrupt_blob && !res.body.empty()) {
        res.body[res.body.size() / 2] ^= 0x01;
      }
      res.head_length = static_cast<std::int64_t>(it->second.size());
      return res;
    }
    if (kind == "/manifests/") {
      if (r.method == "PUT") {
        std::string digest = sha256_digest(r.body);
        m_manifests[arg] = {r.body, r.header("content-type")};
        m_manifests[digest] = {r.body, r.header("content-type")};
        FakeResponse res;
        res.status = 201;
        res.headers = {{"Location", "/v2/" + name + "/manifests/" + digest},
                       {"Docker-Content-Digest", m_options.announce_manifest_digest.empty()
                                                     ? digest
                                                     : m_options.announce_manifest_digest}};
        return res;
      }
      auto it = m_manifests.find(arg);
      if (it == m_manifests.end()) {
        return error(404, "MANIFEST_UNKNOWN", "manifest unknown");
      }
      FakeResponse res;
      res.headers = {{"Content-Type", it->second.second},
                     {"Docker-Content-Digest", sha256_digest(it->second.first)}};
      res.body = it->second.first;
      res.head_length = static_cast<std::int64_t>(it->second.first.size());
      return res;
    }
    return error(404, "NOT_FOUND", "no such route");
  }

  FakeResponse upload(const FakeRequest& r, const std::string& name, const std::string& id) {
    FakeResponse res;
    if (r.method == "POST" && id.empty()) {
      std::string new_id = "u" + std::to_string(++m_upload_ids);
      m_uploads[new_id] = "";
      res.status = 202;
      res.headers = {{"Location", upload_location(name, new_id)}, {"Range", "0-0"}};
      if (m_options.chunk_min > 0) {
        res.headers.emplace_back("OCI-Chunk-Min-Length", std::to_string(m_options.chunk_min));
      }
      return res;
    }
    auto it = m_uploads.find(id);
    if (it == m_uploads.end()) {
      return error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry");
    }
    if (r.method == "PATCH") {
      std::string range = r.header("content-range");
      size_t dash = range.find('-');
      if (dash == std::string::npos ||
          std::stoll(range.substr(0, dash)) != static_cast<long long>(it->second.size())) {
        return error(416, "BLOB_UPLOAD_INVALID", "chunk out of order");
      }
      it->second += r.body;
      res.status = 202;
      res.headers = {{"Location", upload_location(name, id)},
                     {"Range", "0-" + std::to_string(it->second.size() - 1)}};
      return res;
    }
    if (r.method == "PUT") {
      it->second += r.body;
      std::string digest = r.query.count("digest") ? r.query.at("digest") : "";
      if (sha256_digest(it->second) != digest) {
        return error(400, "DIGEST_INVALID", "provided digest did not match uploaded content");
      }
      m_blobs[digest] = it->second;
      m_uploads.erase(it);
      res.status = 201;
      res.headers = {{"Location", "/v2/" + name + "/blobs/" + digest},
                     {"Docker-Content-Digest", digest}};
      return res;
    }
    if (r.method == "DELETE") {
      m_uploads.erase(it);
      res.status = 204;
      return res;
    }
    return error(405, "UNSUPPORTED", "method not allowed");
  }

  Options m_options;
  mutable std::mutex m_mu;
  std::map<std::string, std::string> m_blobs;
  std::map<std::string, std::pair<std::string, std::string>> m_manifests;  // bytes, type
  std::map<std::string, std::string> m_uploads;
  std::map<std::string, std::string> m_tokens;  // token -> scopes
  int m_upload_ids = 0;
  int m_issued = 0;
  FakeHttpServer m_server;  // last: it calls handle() until it is destroyed first
};

}  // namespace ztp::artifact::test
