#include "aws/sigv4.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "support/support.hpp"
#include "sys/crypto.hpp"
#include "util/text.hpp"

namespace ztp::aws {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The fixed inputs of both suites (botocore's test_sigv4.py and every context.json of
// aws-c-auth): the documentation's example key pair, us-east-1, service "service", and
// 2015-08-30T12:36:00Z.
constexpr const char* k_access_key = "AKIDEXAMPLE";
constexpr const char* k_secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

sys::WallTime suite_time() { return sys::parse_rfc3339("2015-08-30T12:36:00Z").value(); }

SigningParams suite_params() {
  SigningParams p;
  p.region = "us-east-1";
  p.service = "service";
  p.time = suite_time();
  return p;
}

// A request in the suites' text form: the request line ("GET /path HTTP/1.1", the path may hold
// spaces and raw UTF-8), header lines "Name:value" (a line starting with whitespace continues
// the previous value), a blank line, the body.
struct TextRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
};

TextRequest parse_request_text(const std::string& text) {
  TextRequest r;
  size_t blank = text.find("\n\n");
  std::string head = text.substr(0, blank);
  if (blank != std::string::npos) {
    r.body = text.substr(blank + 2);
  }
  size_t pos = 0;
  bool first = true;
  while (pos <= head.size()) {
    size_t nl = head.find('\n', pos);
    std::string line = head.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? head.size() + 1 : nl + 1;
    if (first) {
      first = false;
      size_t sp = line.find(' ');
      size_t last = line.rfind(' ');
      r.method = line.substr(0, sp);
      r.target = line.substr(sp + 1, last - sp - 1);
    } else if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !r.headers.empty()) {
      r.headers.back().second += "\n" + line;
    } else if (!line.empty()) {
      size_t colon = line.find(':');
      r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
  }
  return r;
}

std::string host_of(const TextRequest& r) {
  for (const auto& [name, value] : r.headers) {
    if (text::iequals(name, "host")) {
      return std::string(text::trim(value));
    }
  }
  return "";
}

// `r` as the client sends it: the suites' path is the wire path.
sys::HttpRequest to_http(const TextRequest& r) {
  sys::HttpRequest req;
  req.method = r.method;
  req.url = "https://" + host_of(r) + r.target;
  req.headers = r.headers;
  req.body = r.body;
  return req;
}

std::string target_of(const std::string& url) {
  size_t start = url.find('/', url.find("://") + 3);
  return start == std::string::npos ? "/" : url.substr(start);
}

// Headers compared as a server sees them: names without case, values trimmed, in order among
// those of one name.
Headers comparable(Headers headers) {
  for (auto& [name, value] : headers) {
    name = text::to_lower(name);
    value = std::string(text::trim(value));
  }
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return headers;
}

// Both sides of one comparison: a failure is recorded, and the outcome returned so each case
// can be counted.
template <typename T>
bool same(const T& actual, const T& expected, const std::string& what) {
  EXPECT_EQ(actual, expected) << what;
  return actual == expected;
}

bool same_signed_request(const sys::HttpRequest& ours, const std::string& expected_text,
                         const std::string& what) {
  TextRequest expected = parse_request_text(expected_text);
  bool ok = same(ours.method + " " + target_of(ours.url), expected.method + " " + expected.target,
                 what + ": request line");
  ok = same(comparable(ours.headers), comparable(expected.headers), what + ": headers") && ok;
  return same(std::string(ours.body), expected.body, what + ": body") && ok;
}

std::string vector_text(const std::string& relative) {
  return testing::read_text(testing::vector_path(relative));
}

// The value of `name` in a request text, or "".
std::string header_in(const std::string& request_text, const std::string& name) {
  for (const auto& [n, v] : parse_request_text(request_text).headers) {
    if (text::iequals(n, name)) {
      return std::string(text::trim(v));
    }
  }
  return "";
}

// botocore's copy of the suite: <case>.req signed gives <case>.creq, .sts, .authz and .sreq.
// botocore itself skips normalize-path/get-space (its Python request parser) and the three
// get-vanilla-query-order-* cases (its dict of query parameters); all four pass here.
const char* const k_botocore_cases[] = {
    "get-header-key-duplicate",
    "get-header-value-multiline",
    "get-header-value-order",
    "get-header-value-trim",
    "get-unreserved",
    "get-utf8",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-order-value",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "normalize-path/get-relative",
    "normalize-path/get-relative-relative",
    "normalize-path/get-slash",
    "normalize-path/get-slash-dot-slash",
    "normalize-path/get-slash-pointless-dot",
    "normalize-path/get-slashes",
    "normalize-path/get-space",
    "normalize-path/get-special-character",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-token/post-sts-header-after",
    "post-sts-token/post-sts-header-before",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
};

TEST(SigV4Test, PassesEveryCaseOfBotocoresAws4TestSuite) {
  int passed = 0;
  int total = 0;
  for (const char* name : k_botocore_cases) {
    ++total;
    std::string c = name;
    SCOPED_TRACE(c);
    std::string base = "aws-sigv4/botocore-aws4_testsuite/" + c + "/" + c.substr(c.rfind('/') + 1);
    std::string req_text = vector_text(base + ".req");
    std::string creq = vector_text(base + ".creq");
    std::string sreq = vector_text(base + ".sreq");
    std::string authz(text::trim(vector_text(base + ".authz")));
    if (c == "get-vanilla-with-session-token") {
      // Upstream's .sreq of this case carries get-vanilla's signature (5fa00fa3...), which
      // contradicts its own .authz and .sts; botocore never reads .sreq. The rest of the .sreq
      // is compared, with the Authorization line of .authz.
      size_t at = sreq.find("\nAuthorization:");
      ASSERT_NE(at, std::string::npos);
      sreq = sreq.substr(0, at) + "\nAuthorization: " + authz;
    }
    // The session token of the get-vanilla-with-session-token and post-sts-* cases is the one
    // the signed request carries; it is signed when the canonical request lists it.
    Credentials creds{k_access_key, k_secret_key, header_in(sreq, "x-amz-security-token")};
    SigningParams params = suite_params();
    params.sign_session_token = creq.find("x-amz-security-token") != std::string::npos;
    TextRequest text = parse_request_text(req_text);
    sys::HttpRequest req = to_http(text);
    auto signed_ = sign(req, creds, params);
    ASSERT_TRUE(signed_.ok()) << signed_.error().message;
    bool ok = same(signed_->canonical_request, creq, "canonical request");
    ok = same(signed_->string_to_sign, vector_text(base + ".sts"), "string to sign") && ok;
    std::string authorization;
    for (const auto& [n, v] : req.headers) {
      authorization = text::iequals(n, "authorization") ? v : authorization;
    }
    ok = same(authorization, authz, "Authorization") && ok;
    ok = same_signed_request(req, sreq, "signed request") && ok;
    passed += ok ? 1 : 0;
  }
  std::cout << "[ SIGV4    ] botocore aws4_testsuite: " << passed << " of " << total
            << " cases passed\n";
  EXPECT_EQ(total, 34);
  EXPECT_EQ(passed, total);
}

// aws-c-auth's v4 cases: request.txt under context.json, signed with the Authorization header
// (header-*.txt) and presigned (query-*.txt). The v4a cases (ECDSA) are out of scope.
const char* const k_c_auth_cases[] = {
    "get-header-key-duplicate",
    "get-header-value-multiline",
    "get-header-value-order",
    "get-header-value-trim",
    "get-relative-normalized",
    "get-relative-relative-normalized",
    "get-relative-relative-unnormalized",
    "get-relative-unnormalized",
    "get-slash-dot-slash-normalized",
    "get-slash-dot-slash-unnormalized",
    "get-slash-normalized",
    "get-slash-pointless-dot-normalized",
    "get-slash-pointless-dot-unnormalized",
    "get-slash-unnormalized",
    "get-slashes-normalized",
    "get-slashes-unnormalized",
    "get-space-normalized",
    "get-space-unnormalized",
    "get-unreserved",
    "get-utf8",
    "get-vanilla",
    "get-vanilla-empty-query-key",
    "get-vanilla-query",
    "get-vanilla-query-order-encoded",
    "get-vanilla-query-order-key-case",
    "get-vanilla-query-unreserved",
    "get-vanilla-utf8-query",
    "get-vanilla-with-session-token",
    "post-header-key-case",
    "post-header-key-sort",
    "post-header-value-case",
    "post-sts-header-after",
    "post-sts-header-before",
    "post-vanilla",
    "post-vanilla-empty-query-value",
    "post-vanilla-query",
    "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters",
};

TEST(SigV4Test, PassesEveryV4CaseOfAwsCAuthSigningTestSuite) {
  int passed = 0;
  int total = 0;
  for (const char* name : k_c_auth_cases) {
    ++total;
    SCOPED_TRACE(name);
    std::string dir = std::string("aws-sigv4/aws-c-auth-aws-signing-test-suite/v4/") + name + "/";
    auto context = nlohmann::json::parse(vector_text(dir + "context.json"));
    Credentials creds{context["credentials"]["access_key_id"],
                      context["credentials"]["secret_access_key"],
                      context["credentials"].value("token", "")};
    SigningParams params;
    params.region = context["region"];
    params.service = context["service"];
    params.time = sys::parse_rfc3339(context["timestamp"].get<std::string>()).value();
    params.normalize_path = context["normalize"];
    params.content_sha256_header = context["sign_body"];
    params.sign_session_token = !context.value("omit_session_token", false);
    TextRequest text = parse_request_text(vector_text(dir + "request.txt"));

    sys::HttpRequest req = to_http(text);
    auto header = sign(req, creds, params);
    ASSERT_TRUE(header.ok()) << header.error().message;
    bool ok = same(header->canonical_request, vector_text(dir + "header-canonical-request.txt"),
                   "header canonical request");
    ok = same(header->string_to_sign, vector_text(dir + "header-string-to-sign.txt"),
              "header string to sign") &&
         ok;
    ok = same(header->signature, vector_text(dir + "header-signature.txt"), "header signature") &&
         ok;
    ok = same_signed_request(req, vector_text(dir + "header-signed-request.txt"),
                             "header signed request") &&
         ok;

    // A presigned URL carries no x-amz-content-sha256: sign_body only adds that header.
    params.content_sha256_header = false;
    sys::HttpRequest query_req = to_http(text);
    auto query = presign(query_req, creds, params,
                         std::chrono::seconds(context["expiration_in_seconds"].get<int>()));
    ASSERT_TRUE(query.ok()) << query.error().message;
    ok = same(query->canonical_request, vector_text(dir + "query-canonical-request.txt"),
              "query canonical request") &&
         ok;
    ok = same(query->string_to_sign, vector_text(dir + "query-string-to-sign.txt"),
              "query string to sign") &&
         ok;
    ok = same(query->signature, vector_text(dir + "query-signature.txt"), "query signature") && ok;
    ok = same_signed_request(query_req, vector_text(dir + "query-signed-request.txt"),
                             "query signed request") &&
         ok;
    passed += ok ? 1 : 0;
  }
  std::cout << "[ SIGV4    ] aws-c-auth aws-signing-test-suite v4: " << passed << " of " << total
            << " cases passed (header and presigned forms; v4a, ECDSA, is out of scope)\n";
  EXPECT_EQ(total, 38);
  EXPECT_EQ(passed, total);
}

TEST(SigV4Test, DerivesTheSigningKeyOfTheDocumentationsExample) {
  // AWS's guide to deriving a signing key uses this secret on 2015-08-30 for IAM in us-east-1.
  SigningParams p = suite_params();
  p.service = "iam";
  EXPECT_EQ(sys::to_hex(signing_key(k_secret_key, p)),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  EXPECT_EQ(credential_scope(p), "20150830/us-east-1/iam/aws4_request");
  EXPECT_EQ(amz_date(suite_time() + std::chrono::milliseconds(999)), "20150830T123600Z");
}

TEST(SigV4Test, EncodesAllButUnreservedCharacters) {
  EXPECT_EQ(uri_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(uri_encode("a b+c*d'e(f)!/%"), "a%20b%2Bc%2Ad%27e%28f%29%21%2F%25");
  EXPECT_EQ(uri_encode("/a b/", true), "/a%20b/");
  EXPECT_EQ(uri_encode("\xe1\x88\xb4"), "%E1%88%B4");
}

TEST(SigV4Test, SendsTheHostLibcurlSends) {
  EXPECT_EQ(host_header("https://ecs.us-east-1.amazonaws.com/").value(),
            "ecs.us-east-1.amazonaws.com");
  EXPECT_EQ(host_header("https://h.example:443/x").value(), "h.example");
  EXPECT_EQ(host_header("http://h.example:80").value(), "h.example");
  EXPECT_EQ(host_header("http://h.example:443/").value(), "h.example:443");
  EXPECT_EQ(host_header("http://127.0.0.1:8080?x=1").value(), "127.0.0.1:8080");
  EXPECT_EQ(host_header("https://user:pw@[::1]:8443/a").value(), "[::1]:8443");
  EXPECT_EQ(host_header("http://[fd00:ec2::23]/creds").value(), "[fd00:ec2::23]");
  for (const char* bad : {"ftp://h/x", "/relative", "https://", "https://h:8x/", "http://[::1/"}) {
    auto r = host_header(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(SigV4Test, SortsDuplicateQueryKeysByValueAndGivesEmptyValues) {
  EXPECT_EQ(canonical_query("b=2&a=&c&a=1&&a=0"), "a=&a=0&a=1&b=2&c=");
  EXPECT_EQ(canonical_query("k=a+b&k2=%7e%2f&X-Amz-Signature=abc"), "k=a%2Bb&k2=~%2F");
  EXPECT_EQ(canonical_query("p=100%&q=%zz"), "p=100%25&q=%25zz");
  // Sorted by name first: "a-b" comes before "a=" would as a whole string.
  EXPECT_EQ(canonical_query("a=1&a-b=2"), "a=1&a-b=2");
}

TEST(SigV4Test, EncodesAnEncodedPathAgainExceptForS3) {
  SigningParams p = suite_params();
  EXPECT_EQ(canonical_uri("/a%20b/./c//../d/", p), "/a%2520b/d/");
  EXPECT_EQ(canonical_uri("", p), "/");
  EXPECT_EQ(canonical_uri("/..", p), "/");
  SigningParams s3 = p;
  s3.normalize_path = false;
  s3.escape_path = false;
  EXPECT_EQ(canonical_uri("/bucket/my-object//example//photo.user", s3),
            "/bucket/my-object//example//photo.user");
  EXPECT_EQ(canonical_uri("/a%20b", s3), "/a%20b");
}

TEST(SigV4Test, CollapsesSpacesInHeaderValues) {
  EXPECT_EQ(canonical_header_value("  a \t b\r\n  c  "), "a b c");
  EXPECT_EQ(canonical_header_value(""), "");
  EXPECT_EQ(canonical_header_value("\"a   b\""), "\"a b\"");
}

TEST(SigV4Test, SigningAgainReplacesWhatTheFirstSignatureAdded) {
  // HttpClient runs its signer before every attempt: a retry must not pile up headers.
  sys::HttpRequest req;
  req.method = "POST";
  req.url = "https://ecs.us-east-1.amazonaws.com/";
  req.body = R"({"cluster":"prod"})";
  req.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListServices"},
                 {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"},
                 {"User-Agent", "zerotouch"}};
  Credentials creds{k_access_key, k_secret_key, "token-1"};
  SigningParams p = suite_params();
  p.service = "ecs";
  p.content_sha256_header = true;
  ASSERT_TRUE(sign(req, creds, p).ok());
  p.time += std::chrono::seconds(90);
  auto second = sign(req, creds, p);
  ASSERT_TRUE(second.ok()) << second.error().message;
  auto count = [&](std::string_view name) {
    return std::count_if(req.headers.begin(), req.headers.end(),
                         [&](const auto& h) { return text::iequals(h.first, name); });
  };
  for (const char* name :
       {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "host"}) {
    EXPECT_EQ(count(name), 1) << name;
  }
  EXPECT_EQ(count("date"), 0);
  EXPECT_EQ(second->signed_headers,
            "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target");
  EXPECT_NE(second->canonical_request.find("x-amz-date:20150830T123730Z\n"), std::string::npos);
  EXPECT_NE(second->canonical_request.find("\nhost:ecs.us-east-1.amazonaws.com\n"),
            std::string::npos);
  EXPECT_TRUE(second->canonical_request.ends_with(sys::sha256_hex(req.body)));
}

TEST(SigV4Test, ASteamedBodyNeedsItsHashGiven) {
  sys::HttpRequest req;
  req.method = "PUT";
  req.url = "https://bucket.s3.us-east-1.amazonaws.com/key";
  req.upload = [](char*, size_t) -> size_t { return 0; };
  Credentials creds{k_access_key, k_secret_key};
  SigningParams p = suite_params();
  p.service = "s3";
  auto refused = sign(req, creds, p);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::invalid);
  req.headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  auto signed_ = sign(req, creds, p);
  ASSERT_TRUE(signed_.ok()) << signed_.error().message;
  EXPECT_TRUE(signed_->canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
}

TEST(SigV4Test, RefusesWhatCannotBeSigned) {
  sys::HttpRequest req;
  req.url = "https://sts.us-east-1.amazonaws.com/";
  SigningParams p = suite_params();
  EXPECT_EQ(sign(req, Credentials{"", k_secret_key}, p).error().code, Errc::invalid);
  SigningParams no_region = p;
  no_region.region.clear();
  EXPECT_EQ(sign(req, Credentials{k_access_key, k_secret_key}, no_region).error().code,
            Errc::invalid);
  Credentials creds{k_access_key, k_secret_key};
  EXPECT_FALSE(presign(req, creds, p, std::chrono::seconds(0)).ok());
  EXPECT_FALSE(presign(req, creds, p, std::chrono::seconds(604801)).ok());
  EXPECT_TRUE(presign(req, creds, p, std::chrono::seconds(604800)).ok());
  sys::HttpRequest relative;
  relative.url = "/no-host";
  EXPECT_EQ(sign(relative, creds, p).error().code, Errc::invalid);
}

TEST(SigV4Test, PresigningAgainReplacesTheEarlierQuery) {
  sys::HttpRequest req;
  req.url = "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15";
  req.headers = {{"x-k8s-aws-id", "prod"}, {"X-Amz-Meta", "v"}};
  Credentials creds{k_access_key, k_secret_key, "tok/en+="};
  SigningParams p = suite_params();
  p.service = "sts";
  ASSERT_TRUE(presign(req, creds, p, std::chrono::seconds(60)).ok());
  auto again = presign(req, creds, p, std::chrono::seconds(60));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->signed_headers, "host;x-k8s-aws-id");
  std::string target = target_of(req.url);
  EXPECT_EQ(target.find("X-Amz-Signature="), target.rfind("X-Amz-Signature="));
  EXPECT_NE(target.find("&X-Amz-Meta=v&"), std::string::npos);
  EXPECT_NE(target.find("X-Amz-Security-Token=tok%2Fen%2B%3D"), std::string::npos);
  EXPECT_TRUE(target.ends_with("&X-Amz-Signature=" + again->signature));
  EXPECT_TRUE(target.starts_with("/?Action=GetCallerIdentity&Version=2011-06-15&"));
}

}  // namespace
}  // namespace ztp::aws
