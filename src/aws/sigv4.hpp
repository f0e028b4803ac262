#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "sys/http.hpp"
#include "sys/time.hpp"
#include "util/result.hpp"

// AWS Signature Version 4 (AWS4-HMAC-SHA256) over sys::HttpRequest: signing with the
// Authorization header, and presigning (the signature in the query, with X-Amz-Expires).
// The steps are exposed for tests and for reading a SignatureDoesNotMatch answer, which quotes
// the canonical request and string to sign the service computed.
//
// The request's `url` is what goes on the wire (already percent-encoded). Its path is
// normalised ("." and ".." resolved, empty segments dropped) and percent-encoded once more for
// the canonical request, as every service but S3 expects; an S3 caller sets normalize_path and
// escape_path to false. Query parameters are decoded and re-encoded (RFC 3986 unreserved
// characters only; '+' is a literal plus) and sorted by name, then value.
//
// SigV4a (AWS4-ECDSA-P256-SHA256, multi-region access points) is not implemented: none of the
// services ztp calls needs it. No clock is read here: the signing time is a parameter.
namespace ztp::aws {

// AWS credentials. Never logged, never put in an error message; `source` says where they came
// from for messages ("environment", "profile prod", "ECS container endpoint").
struct Credentials {
  std::string access_key_id{};
  std::string secret_access_key{};
  std::string session_token{};                // empty for long-term keys
  std::optional<sys::WallTime> expiration{};  // nullopt: does not expire
  std::string source{};
};

// What one signature covers besides the request.
struct SigningParams {
  std::string region{};   // "us-east-1"
  std::string service{};  // the signing name: "ecs", "elasticloadbalancing", "monitoring", ...
  sys::WallTime time{};   // the signing time (X-Amz-Date)
  // Adds x-amz-content-sha256 with the payload's hash (S3 needs it; the JavaScript SDK sends it
  // to every service). A header the caller set (e.g. UNSIGNED-PAYLOAD) is kept and used.
  bool content_sha256_header = false;
  // False: X-Amz-Security-Token is added after signing, outside the signature (a few old
  // services want that; the test suites' post-sts-header-after case).
  bool sign_session_token = true;
  bool normalize_path = true;  // resolve "." and "..", drop empty segments (not for S3)
  bool escape_path = true;     // percent-encode the path once more (not for S3)
};

// The results of each step of one signature.
struct SigningDetails {
  std::string canonical_request{};
  std::string string_to_sign{};
  std::string signed_headers{};  // "host;x-amz-date"
  std::string signature{};       // lower-case hex
};

// `bytes` percent-encoded leaving only RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~),
// and '/' when `keep_slash`; upper-case hex ("%2F").
std::string uri_encode(std::string_view bytes, bool keep_slash = false);

// The ISO 8601 basic time of X-Amz-Date: "20150830T123600Z".
std::string amz_date(sys::WallTime time);

// The credential scope: "20150830/us-east-1/service/aws4_request".
std::string credential_scope(const SigningParams& params);

// The Host header libcurl sends for `url`: the host as written (IPv6 in brackets), with
// ":port" only when the URL names a port other than its scheme's default. invalid when `url`
// is not an absolute http or https URL.
Result<std::string> host_header(std::string_view url);

// The canonical URI of a wire path ("" reads as "/"), as `params` asks (see above).
std::string canonical_uri(std::string_view path, const SigningParams& params);

// The canonical query string of a wire query (without '?'): each name and value decoded and
// re-encoded, a name without '=' given an empty value, sorted by name then value;
// X-Amz-Signature left out.
std::string canonical_query(std::string_view query);

// A header value as signed: runs of spaces, tabs, CR and LF collapsed to one space, trimmed.
std::string canonical_header_value(std::string_view value);

// The canonical request of `req` as it stands (its headers already hold Host and X-Amz-Date),
// with `payload_hash` on its last line; `signed_headers` receives the signed header list.
// Headers that proxies or clients change are not signed (Authorization, User-Agent, Expect,
// Connection, Transfer-Encoding, X-Amzn-Trace-Id, proxy-*, ...), as the SDKs skip them;
// repeated headers are joined with ",". invalid when the URL is not absolute http(s).
Result<std::string> canonical_request(const sys::HttpRequest& req, const SigningParams& params,
                                      std::string_view payload_hash,
                                      std::string* signed_headers = nullptr);

// "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex SHA-256 of the canonical request>".
std::string string_to_sign(const SigningParams& params, std::string_view canonical_request);

// The raw 32-byte signing key: HMAC chain over "AWS4"+secret, date, region, service,
// "aws4_request".
std::string signing_key(std::string_view secret_access_key, const SigningParams& params);

// The hex HMAC-SHA256 of `string_to_sign` under `signing_key`.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

// Signs `req` in place: sets Host (when absent, as libcurl will send it), X-Amz-Date,
// X-Amz-Security-Token (when the credentials have a session token), x-amz-content-sha256 (when
// asked) and Authorization; a Date header is removed. Signing again (a retry) replaces what an
// earlier signature added. The payload hash is x-amz-content-sha256 when the caller set it,
// else the SHA-256 of `body`. invalid for a URL that is not absolute http(s), empty keys,
// region or service, or a streamed body without x-amz-content-sha256.
Result<SigningDetails> sign(sys::HttpRequest& req, const Credentials& credentials,
                            const SigningParams& params);

// Presigns `req` in place: its x-amz-* headers move into the query (as the JavaScript SDK
// does), then X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders,
// X-Amz-Expires, X-Amz-Security-Token (with a session token) and X-Amz-Signature are appended
// to the URL's query; the remaining headers (at least Host) are signed, and the payload hash is
// that of sign() (content_sha256_header adds nothing here). invalid as for sign(), and when
// `expires` is not between 1 second and 7 days.
Result<SigningDetails> presign(sys::HttpRequest& req, const Credentials& credentials,
                               const SigningParams& params, std::chrono::seconds expires);

}  // namespace ztp::aws
