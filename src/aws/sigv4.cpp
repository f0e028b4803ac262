#include "aws/sigv4.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <utility>
#include <vector>

#include "sys/crypto.hpp"
#include "util/text.hpp"

namespace ztp::aws {
namespace {

constexpr std::string_view k_algorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view k_empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::chrono::seconds k_max_presign{7 * 24 * 3600};

// Headers the JavaScript SDK never signs (hop-by-hop, or changed on the way); botocore's list
// is a subset. Signing one that a proxy rewrites would break the signature.
constexpr std::array<std::string_view, 15> k_unsignable = {
    "authorization", "cache-control",     "connection", "expect",     "from",
    "keep-alive",    "max-forwards",      "pragma",     "referer",    "te",
    "trailer",       "transfer-encoding", "upgrade",    "user-agent", "x-amzn-trace-id"};

bool unsignable(std::string_view lower_name) {
  return std::find(k_unsignable.begin(), k_unsignable.end(), lower_name) != k_unsignable.end() ||
         lower_name.starts_with("proxy-") || lower_name.starts_with("sec-");
}

// The pieces of an absolute http(s) URL, as views into it.
struct UrlParts {
  std::string_view prefix;  // "https://host:port", everything before the path
  std::string_view scheme;
  std::string_view host;  // IPv6 with its brackets
  std::string_view port;  // "" when the URL names none
  std::string_view path;
  std::string_view query;     // without '?'
  std::string_view fragment;  // from '#', kept as it is
};

Result<UrlParts> split_url(std::string_view url) {
  // Without the query, which may hold a presigned token.
  auto bad = [&] {
    return make_error(Errc::invalid,
                      fmt::format("cannot sign '{}': not an absolute http or https URL",
                                  url.substr(0, url.find('?'))));
  };
  UrlParts p;
  size_t colon = url.find("://");
  if (colon == std::string_view::npos) {
    return bad();
  }
  p.scheme = url.substr(0, colon);
  if (!text::iequals(p.scheme, "http") && !text::iequals(p.scheme, "https")) {
    return bad();
  }
  size_t start = colon + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) {
    end = url.size();
  }
  std::string_view authority = url.substr(start, end - start);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return bad();
    }
    p.host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return bad();
    }
    p.port = rest.empty() ? rest : rest.substr(1);
  } else {
    size_t port_colon = authority.find(':');
    p.host = authority.substr(0, port_colon);
    p.port = port_colon == std::string_view::npos ? std::string_view()
                                                  : authority.substr(port_colon + 1);
  }
  if (p.host.empty() ||
      !std::all_of(p.port.begin(), p.port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad();
  }
  p.prefix = url.substr(0, end);
  std::string_view rest = url.substr(end);
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) {
    p.fragment = rest.substr(hash);
    rest = rest.substr(0, hash);
  }
  size_t question = rest.find('?');
  p.path = rest.substr(0, question);
  if (question != std::string_view::npos) {
    p.query = rest.substr(question + 1);
  }
  return p;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// %XX escapes decoded; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_header(const std::pair<std::string, std::string>& h, std::string_view name) {
  return text::iequals(h.first, name);
}

void remove_header(sys::HttpRequest& req, std::string_view name) {
  std::erase_if(req.headers, [&](const auto& h) { return is_header(h, name); });
}

const std::string* find_header(const sys::HttpRequest& req, std::string_view name) {
  auto it = std::find_if(req.headers.begin(), req.headers.end(),
                         [&](const auto& h) { return is_header(h, name); });
  return it == req.headers.end() ? nullptr : &it->second;
}

Result<void> check_inputs(const Credentials& credentials, const SigningParams& params) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return make_error(Errc::invalid, "cannot sign: the credentials have no access key or secret");
  }
  if (params.region.empty() || params.service.empty()) {
    return make_error(Errc::invalid, "cannot sign: the region or the signing name is empty");
  }
  return {};
}

// The payload's hash: the caller's x-amz-content-sha256, else the SHA-256 of the body.
Result<std::string> payload_hash(const sys::HttpRequest& req) {
  if (const std::string* given = find_header(req, "x-amz-content-sha256")) {
    return *given;
  }
  if (req.upload) {
    return make_error(Errc::invalid,
                      "cannot sign a streamed body without its SHA-256 in x-amz-content-sha256");
  }
  return req.body.empty() ? std::string(k_empty_sha256) : sys::sha256_hex(req.body);
}

// Adds Host as libcurl would send it, unless the caller set one.
Result<void> ensure_host(sys::HttpRequest& req) {
  if (find_header(req, "host") != nullptr) {
    return {};
  }
  ZTP_ASSIGN_OR_RETURN(std::string host, host_header(req.url));
  req.headers.emplace_back("Host", std::move(host));
  return {};
}

SigningDetails finish(const SigningParams& params, const Credentials& credentials,
                      std::string canonical, std::string signed_headers) {
  SigningDetails d;
  d.canonical_request = std::move(canonical);
  d.string_to_sign = string_to_sign(params, d.canonical_request);
  d.signature = signature(signing_key(credentials.secret_access_key, params), d.string_to_sign);
  d.signed_headers = std::move(signed_headers);
  return d;
}

}  // namespace

std::string uri_encode(std::string_view bytes, bool keep_slash) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 0x0f];
    }
  }
  return out;
}

std::string amz_date(sys::WallTime time) { return sys::format_utc(time, "%Y%m%dT%H%M%SZ"); }

std::string credential_scope(const SigningParams& params) {
  return fmt::format("{}/{}/{}/aws4_request", amz_date(params.time).substr(0, 8), params.region,
                     params.service);
}

Result<std::string> host_header(std::string_view url) {
  ZTP_ASSIGN_OR_RETURN(UrlParts p, split_url(url));
  std::string_view default_port = text::iequals(p.scheme, "https") ? "443" : "80";
  std::string_view port = p.port;
  while (port.size() > 1 && port.front() == '0') {
    port.remove_prefix(1);
  }
  if (port.empty() || port == default_port) {
    return std::string(p.host);
  }
  return fmt::format("{}:{}", p.host, port);
}

std::string canonical_uri(std::string_view path, const SigningParams& params) {
  if (path.empty()) {
    path = "/";
  }
  std::string normalized(path);
  if (params.normalize_path) {
    std::vector<std::string_view> segments;
    size_t pos = 0;
    while (pos <= path.size()) {
      size_t slash = path.find('/', pos);
      std::string_view segment =
          path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
      if (segment == "..") {
        if (!segments.empty()) {
          segments.pop_back();
        }
      } else if (!segment.empty() && segment != ".") {
        segments.push_back(segment);
      }
      if (slash == std::string_view::npos) {
        break;
      }
      pos = slash + 1;
    }
    normalized = path.starts_with('/') ? "/" : "";
    for (size_t i = 0; i < segments.size(); ++i) {
      normalized += i == 0 ? "" : "/";
      normalized += segments[i];
    }
    if (!segments.empty() && path.ends_with('/')) {
      normalized += '/';
    }
  }
  return params.escape_path ? uri_encode(normalized, true) : normalized;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) {
      continue;
    }
    size_t eq = piece.find('=');
    std::string name = uri_encode(percent_decode(piece.substr(0, eq)));
    if (text::iequals(name, "X-Amz-Signature")) {
      continue;
    }
    std::string value = eq == std::string_view::npos
                            ? std::string()
                            : uri_encode(percent_decode(piece.substr(eq + 1)));
    pairs.emplace_back(std::move(name), std::move(value));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    out += out.empty() ? "" : "&";
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
    }
    out += c;
  }
  return out;
}

Result<std::string> canonical_request(const sys::HttpRequest& req, const SigningParams& params,
                                      std::string_view payload_hash, std::string* signed_headers) {
  ZTP_ASSIGN_OR_RETURN(UrlParts url, split_url(req.url));
  std::map<std::string, std::string> headers;  // sorted by lower-case name
  for (const auto& [name, value] : req.headers) {
    std::string lower = text::to_lower(text::trim(name));
    if (unsignable(lower)) {
      continue;
    }
    auto [it, fresh] = headers.try_emplace(lower, canonical_header_value(value));
    if (!fresh) {
      it->second += ',';
      it->second += canonical_header_value(value);
    }
  }
  std::string header_lines;
  std::string names;
  for (const auto& [name, value] : headers) {
    header_lines += fmt::format("{}:{}\n", name, value);
    names += names.empty() ? "" : ";";
    names += name;
  }
  if (signed_headers != nullptr) {
    *signed_headers = names;
  }
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", req.method, canonical_uri(url.path, params),
                     canonical_query(url.query), header_lines, names, payload_hash);
}

std::string string_to_sign(const SigningParams& params, std::string_view canonical_request) {
  return fmt::format("{}\n{}\n{}\n{}", k_algorithm, amz_date(params.time), credential_scope(params),
                     sys::sha256_hex(canonical_request));
}

std::string signing_key(std::string_view secret_access_key, const SigningParams& params) {
  std::string key = sys::hmac_sha256(fmt::format("AWS4{}", secret_access_key),
                                     amz_date(params.time).substr(0, 8));
  key = sys::hmac_sha256(key, params.region);
  key = sys::hmac_sha256(key, params.service);
  return sys::hmac_sha256(key, "aws4_request");
}

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
  return sys::hmac_sha256_hex(signing_key, string_to_sign);
}

Result<SigningDetails> sign(sys::HttpRequest& req, const Credentials& credentials,
                            const SigningParams& params) {
  ZTP_TRY(check_inputs(credentials, params));
  ZTP_TRY(split_url(req.url));
  // What an earlier signature added goes; Date is replaced by X-Amz-Date, as the SDKs do.
  for (std::string_view name : {"authorization", "x-amz-date", "date"}) {
    remove_header(req, name);
  }
  bool token = !credentials.session_token.empty();
  if (token) {
    remove_header(req, "x-amz-security-token");
  }
  ZTP_TRY(ensure_host(req));
  req.headers.emplace_back("X-Amz-Date", amz_date(params.time));
  if (token && params.sign_session_token) {
    req.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  ZTP_ASSIGN_OR_RETURN(std::string hash, payload_hash(req));
  if (params.content_sha256_header && find_header(req, "x-amz-content-sha256") == nullptr) {
    req.headers.emplace_back("X-Amz-Content-Sha256", hash);
  }
  std::string names;
  ZTP_ASSIGN_OR_RETURN(std::string canonical, canonical_request(req, params, hash, &names));
  SigningDetails d = finish(params, credentials, std::move(canonical), std::move(names));
  if (token && !params.sign_session_token) {
    req.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  req.headers.emplace_back(
      "Authorization", fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}",
                                   k_algorithm, credentials.access_key_id, credential_scope(params),
                                   d.signed_headers, d.signature));
  return d;
}

Result<SigningDetails> presign(sys::HttpRequest& req, const Credentials& credentials,
                               const SigningParams& params, std::chrono::seconds expires) {
  ZTP_TRY(check_inputs(credentials, params));
  if (expires < std::chrono::seconds(1) || expires > k_max_presign) {
    return make_error(
        Errc::invalid,
        fmt::format("cannot presign for {} s: between 1 s and 7 days (604800 s)", expires.count()));
  }
  ZTP_ASSIGN_OR_RETURN(UrlParts url, split_url(req.url));
  // Copies: the URL is rewritten below.
  std::string prefix(url.prefix), path(url.path.empty() ? "/" : url.path), fragment(url.fragment);
  ZTP_ASSIGN_OR_RETURN(std::string hash, payload_hash(req));
  for (std::string_view name : {"authorization", "x-amz-date", "date", "x-amz-security-token"}) {
    remove_header(req, name);
  }
  // The query kept from the URL, minus what an earlier presignature added.
  std::string query;
  std::string original_query(url.query);
  std::string_view rest = original_query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view piece = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    std::string name = percent_decode(piece.substr(0, piece.find('=')));
    static constexpr std::array<std::string_view, 7> k_added = {
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",          "X-Amz-SignedHeaders",
        "X-Amz-Expires",   "X-Amz-Signature",  "X-Amz-Security-Token"};
    if (!piece.empty() && std::find(k_added.begin(), k_added.end(), name) == k_added.end()) {
      query += query.empty() ? "" : "&";
      query += piece;
    }
  }
  auto add = [&](std::string_view name, std::string_view value) {
    query += query.empty() ? "" : "&";
    query += fmt::format("{}={}", uri_encode(name), uri_encode(value));
  };
  for (auto it = req.headers.begin(); it != req.headers.end();) {
    if (text::to_lower(it->first).starts_with("x-amz-")) {
      add(it->first, it->second);
      it = req.headers.erase(it);
    } else {
      ++it;
    }
  }
  ZTP_TRY(ensure_host(req));
  std::string names;
  ZTP_TRY(canonical_request(req, params, hash, &names));
  bool token = !credentials.session_token.empty();
  add("X-Amz-Algorithm", k_algorithm);
  add("X-Amz-Credential",
      fmt::format("{}/{}", credentials.access_key_id, credential_scope(params)));
  add("X-Amz-Date", amz_date(params.time));
  add("X-Amz-SignedHeaders", names);
  add("X-Amz-Expires", std::to_string(expires.count()));
  if (token && params.sign_session_token) {
    add("X-Amz-Security-Token", credentials.session_token);
  }
  req.url = fmt::format("{}{}?{}{}", prefix, path, query, fragment);
  ZTP_ASSIGN_OR_RETURN(std::string canonical, canonical_request(req, params, hash, &names));
  SigningDetails d = finish(params, credentials, std::move(canonical), std::move(names));
  if (token && !params.sign_session_token) {
    add("X-Amz-Security-Token", credentials.session_token);
  }
  add("X-Amz-Signature", d.signature);
  req.url = fmt::format("{}{}?{}{}", prefix, path, query, fragment);
  return d;
}

}  // namespace ztp::aws
