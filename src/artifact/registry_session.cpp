#include "artifact/registry_session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "util/log.hpp"

namespace ztp::artifact {
namespace {

const std::pair<std::string, std::string> k_octet_stream{"Content-Type",
                                                         "application/octet-stream"};

// The registry's JSON errors ("CODE: message; ..."), else the start of a short text body.
std::string registry_errors(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  std::string out;
  if (!j.is_discarded() && j.is_object() && j.contains("errors") && j["errors"].is_array()) {
    for (const auto& e : j["errors"]) {
      if (!e.is_object()) {
        continue;
      }
      auto text = [&](const char* key) {
        auto it = e.find(key);
        return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      std::string code = text("code");
      std::string message = text("message");
      std::string item = code.empty() ? message : (message.empty() ? code : code + ": " + message);
      if (!item.empty()) {
        out += (out.empty() ? "" : "; ") + item;
      }
    }
    return out;
  }
  if (body.empty() || body.size() > 200 || body.find('<') != std::string_view::npos) {
    return {};
  }
  out = std::string(body);
  std::replace(out.begin(), out.end(), '\n', ' ');
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

}  // namespace

RegistrySession::RegistrySession(RegistryEndpoint endpoint, RegistryAuth auth)
    : m_endpoint(std::move(endpoint)),
      m_base(fmt::format("{}://{}", m_endpoint.plain_http ? "http" : "https", m_endpoint.host)),
      m_auth(std::move(auth)) {
  m_http.options().stall = std::chrono::seconds(30);
  m_http.options().direct = is_loopback_host(m_endpoint.host);
}

std::string RegistrySession::url(std::string_view path) const { return m_base + std::string(path); }

std::string RegistrySession::describe(const sys::HttpRequest& req) const {
  std::string_view u = req.url;
  u = u.substr(0, u.find('?'));
  if (u.substr(0, m_base.size()) == m_base && u.size() > m_base.size() && u[m_base.size()] == '/') {
    u.remove_prefix(m_base.size());
  }
  return fmt::format("{} {}", req.method, u);
}

Result<sys::HttpResponse> RegistrySession::send(const sys::HttpRequest& req,
                                                const std::string& scope) {
  auto attempt = [&]() {
    std::string auth = m_auth.authorization(scope);
    if (auth.empty()) {
      return m_http.send(req);
    }
    sys::HttpRequest authed = req;
    authed.headers.emplace_back("Authorization", std::move(auth));
    return m_http.send(authed);
  };
  auto res = attempt();
  if (res.ok() && res->status == 401) {
    auto retry = m_auth.answer(res->header("www-authenticate"), scope, m_http);
    if (!retry.ok()) {
      return make_error(retry.error().code,
                        fmt::format("registry {}: {}", m_endpoint.host, retry.error().message));
    }
    if (retry.value()) {
      res = attempt();
    }
  }
  if (!res.ok()) {
    return transport_error(req, res.error());
  }
  log::debug("registry request", {{"registry", m_endpoint.host},
                                  {"request", describe(req)},
                                  {"status", std::to_string(res->status)}});
  return res;
}

Result<sys::HttpResponse> RegistrySession::call(const sys::HttpRequest& req,
                                                const std::string& scope,
                                                std::initializer_list<long> ok) {
  auto res = send(req, scope);
  if (!res.ok()) {
    return res;
  }
  if (std::find(ok.begin(), ok.end(), res->status) == ok.end()) {
    return status_error(req, res.value());
  }
  return res;
}

Error RegistrySession::transport_error(const sys::HttpRequest& req, const Error& cause) const {
  switch (cause.code) {
    case Errc::unavailable:
      return make_error(Errc::unavailable,
                        fmt::format("registry {} did not answer {}: {}; is it running? check "
                                    "registry: in ztp.yaml",
                                    m_endpoint.host, describe(req), cause.message));
    case Errc::timeout:
      return make_error(Errc::timeout,
                        fmt::format("registry {}: {} timed out: {}; is the registry overloaded "
                                    "or the network down?",
                                    m_endpoint.host, describe(req), cause.message));
    default:
      return make_error(cause.code, fmt::format("registry {}: {}: {}", m_endpoint.host,
                                                describe(req), cause.message));
  }
}

Error RegistrySession::status_error(const sys::HttpRequest& req,
                                    const sys::HttpResponse& res) const {
  std::string what = fmt::format("registry {}: {} answered {}{}{}", m_endpoint.host, describe(req),
                                 res.status, res.reason.empty() ? "" : " ", res.reason);
  if (std::string errors = registry_errors(res.body); !errors.empty()) {
    what += ": " + errors;
  }
  if (res.status == 401 || res.status == 403) {
    std::string hint =
        m_auth.has_credentials()
            ? fmt::format(
                  "; the registry refuses the credentials of {}/{} (or {}): check them "
                  "and their access to {}",
                  k_env_registry_username, k_env_registry_password, k_env_registry_token,
                  m_endpoint.repository)
            : fmt::format("; set {} and {} (or {}) to an account with access to {}",
                          k_env_registry_username, k_env_registry_password, k_env_registry_token,
                          m_endpoint.repository);
    return make_error(Errc::refused, what + hint);
  }
  if (res.status == 404) {
    return make_error(Errc::not_found, what);
  }
  if (res.status == 408 || res.status == 429 || res.status >= 500) {
    return make_error(Errc::unavailable, what + "; try again later");
  }
  return make_error(Errc::invalid, what);
}

Result<bool> RegistrySession::has_blob(std::string_view digest, const std::string& scope) {
  sys::HttpRequest req;
  req.method = "HEAD";
  req.url = url(fmt::format("/v2/{}/blobs/{}", m_endpoint.repository, digest));
  req.follow_redirects = true;
  ZTP_ASSIGN_OR_RETURN(auto res, call(req, scope, {200, 404}));
  return res.status == 200;
}

Result<std::string> RegistrySession::location(const sys::HttpRequest& req,
                                              const sys::HttpResponse& res) const {
  std::string loc = res.header("location");
  if (loc.empty()) {
    return make_error(Errc::invalid, fmt::format("registry {}: {} answered {} without a Location "
                                                 "header",
                                                 m_endpoint.host, describe(req), res.status));
  }
  // Relative to the request (RFC 7231 7.1.2), or absolute, maybe on another host.
  return sys::resolve_url(req.url, loc);
}

void RegistrySession::cancel_upload(const std::string& upload_url, const std::string& scope) {
  sys::HttpRequest req;
  req.method = "DELETE";
  req.url = upload_url;
  // The registry drops abandoned uploads eventually anyway: a failure here changes nothing.
  (void)send(req, scope);
}

bool RegistrySession::mount_blob(const std::string& digest, const std::string& from,
                                 const std::string& scope) {
  sys::HttpRequest req;
  req.method = "POST";
  req.url = url(
      fmt::format("/v2/{}/blobs/uploads/?mount={}&from={}", m_endpoint.repository, digest, from));
  auto answered = call(req, scope, {201, 202});
  if (!answered.ok()) {
    return false;
  }
  if (answered->status == 201) {
    return true;
  }
  // 202: the registry began an ordinary upload instead; it is not needed.
  auto started = location(req, answered.value());
  if (started.ok()) {
    cancel_upload(started.value(), scope);
  }
  return false;
}

Result<void> RegistrySession::upload_blob(const std::string& digest, std::string_view bytes,
                                          std::int64_t chunk_size, const std::string& scope) {
  sys::HttpRequest start;
  start.method = "POST";
  start.url = url(fmt::format("/v2/{}/blobs/uploads/", m_endpoint.repository));
  ZTP_ASSIGN_OR_RETURN(auto started, call(start, scope, {202}));
  ZTP_ASSIGN_OR_RETURN(std::string upload_url, location(start, started));
  auto fail = [&](Error e) -> Result<void> {
    cancel_upload(upload_url, scope);
    return e;
  };

  std::string_view last;  // what the closing PUT carries
  if (chunk_size > 0) {
    std::int64_t min = std::strtoll(started.header("oci-chunk-min-length").c_str(), nullptr, 10);
    std::int64_t step = std::max(chunk_size, min);
    const auto size = static_cast<std::int64_t>(bytes.size());
    for (std::int64_t offset = 0; offset < size; offset += step) {
      std::int64_t n = std::min(step, size - offset);
      sys::HttpRequest patch;
      patch.method = "PATCH";
      patch.url = upload_url;
      patch.headers = {k_octet_stream,
                       {"Content-Range", fmt::format("{}-{}", offset, offset + n - 1)}};
      patch.body = bytes.substr(static_cast<size_t>(offset), static_cast<size_t>(n));
      auto patched = call(patch, scope, {202});
      if (!patched.ok()) {
        return fail(patched.take_error());
      }
      // Each chunk's answer names where the next one goes.
      if (!patched->header("location").empty()) {
        auto next = location(patch, patched.value());
        if (!next.ok()) {
          return fail(next.take_error());
        }
        upload_url = std::move(next.value());
      }
    }
  } else {
    last = bytes;
  }

  sys::HttpRequest close;
  close.method = "PUT";
  auto close_url = sys::append_query(upload_url, "digest", digest);
  if (!close_url.ok()) {
    return fail(close_url.take_error());
  }
  close.url = std::move(close_url.value());
  if (!last.empty()) {
    close.headers.push_back(k_octet_stream);
  }
  close.body = last;
  auto closed = call(close, scope, {201});
  if (!closed.ok()) {
    return fail(closed.take_error());
  }
  std::string stored = closed->header("docker-content-digest");
  if (!stored.empty() && stored != digest) {
    return make_error(Errc::invalid,
                      fmt::format("registry {}: blob {} was stored as {}; the upload was "
                                  "corrupted on the way, push again",
                                  m_endpoint.host, digest, stored));
  }
  return {};
}

Result<std::string> RegistrySession::get_blob(const Descriptor& blob, const std::string& scope) {
  sys::HttpRequest req;
  req.url = url(fmt::format("/v2/{}/blobs/{}", m_endpoint.repository, blob.digest));
  req.follow_redirects = true;
  req.max_body = blob.size;
  ZTP_ASSIGN_OR_RETURN(auto res, call(req, scope, {200}));
  std::string actual = sha256_digest(res.body);
  if (actual != blob.digest || static_cast<std::int64_t>(res.body.size()) != blob.size) {
    return make_error(Errc::invalid,
                      fmt::format("registry {}: blob {} ({}, {} bytes) is corrupt: the registry "
                                  "sent {} bytes that hash to {}; nothing was stored or tagged, "
                                  "repair the registry or push the image again",
                                  m_endpoint.host, blob.digest, blob.media_type, blob.size,
                                  res.body.size(), actual));
  }
  return std::move(res.body);
}

Result<void> RegistrySession::put_manifest(const std::string& ref, std::string_view bytes,
                                           const std::string& media_type, const std::string& digest,
                                           const std::string& scope) {
  sys::HttpRequest req;
  req.method = "PUT";
  req.url = url(fmt::format("/v2/{}/manifests/{}", m_endpoint.repository, ref));
  req.headers.emplace_back("Content-Type", media_type);
  req.body = bytes;
  ZTP_ASSIGN_OR_RETURN(auto res, call(req, scope, {201}));
  std::string stored = res.header("docker-content-digest");
  if (!stored.empty() && stored != digest) {
    return make_error(Errc::invalid,
                      fmt::format("registry {}: manifest {} was stored under {} as {}, not as {}; "
                                  "the registry altered it, so nothing it names can be trusted",
                                  m_endpoint.host, digest, ref, stored, digest));
  }
  return {};
}

}  // namespace ztp::artifact
