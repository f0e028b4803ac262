// ztp's SigV4 signer against the official AWS SDK for JavaScript v3 (tests/aws-sdk, pinned by its
// package-lock.json): the same requests signed by @smithy/signature-v4 and by ztp must carry the
// same Authorization and X-Amz-* values (or presigned query); and the requests the real clients
// (STS, ECS, ELBv2, CloudWatch, Logs, ECR, Application Auto Scaling) send to a local capture
// server, re-signed by ztp at their own X-Amz-Date, must carry the signature the client gave;
// and ztp's AssumeRoleWithWebIdentity call must be the STS client's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "aws/endpoint.hpp"
#include "aws/sigv4.hpp"
#include "aws/sts_web_identity.hpp"
#include "support/fake_http_server.hpp"
#include "support/support.hpp"
#include "sys/crypto.hpp"
#include "sys/process.hpp"
#include "util/text.hpp"

namespace ztp::aws {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using nlohmann::json;

constexpr const char* k_access_key = "AKIDEXAMPLE";
constexpr const char* k_secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* k_token = "IQoJb3JpZ2luX2VjE/tok+en==";

std::filesystem::path sdk_dir() { return testing::source_dir() / "tests" / "aws-sdk"; }

class SdkSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("node", "nodejs");
    if (!std::filesystem::exists(sdk_dir() / "node_modules" / "@smithy" / "signature-v4")) {
      FAIL() << "the AWS SDK for JavaScript is not installed in " << sdk_dir().string()
             << ": run `npm ci --prefix tests/aws-sdk`";
    }
  }

  // Runs sign.mjs with `input` on its standard input; its output, or null after a failure.
  json run_sign_mjs(const json& input) {
    testing::TempDir dir;
    testing::write_text(dir / "input.json", input.dump());
    int fd = ::open((dir / "input.json").c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    sys::SpawnOptions spawn;
    spawn.argv = {"node", (sdk_dir() / "sign.mjs").string()};
    spawn.search_path = true;
    spawn.stdin_fd = fd;
    auto ran = sys::run_captured(spawn, std::chrono::minutes(2));
    ::close(fd);
    if (!ran.ok()) {
      ADD_FAILURE() << ran.error().message;
      return nullptr;
    }
    if (!WIFEXITED(ran->wait_status) || WEXITSTATUS(ran->wait_status) != 0) {
      ADD_FAILURE() << "sign.mjs failed:\n" << ran->err;
      return nullptr;
    }
    return json::parse(ran->out);
  }
};

// One request, described once and given to both signers.
struct Case {
  std::string name;
  std::string method = "GET";
  std::string scheme = "https";
  std::string host = "example.amazonaws.com";
  int port = 0;
  std::string path = "/";  // as sent: percent-encoded
  Pairs query;             // decoded, in the order they are sent
  Pairs headers;
  std::string body;
  std::string region = "us-east-1";
  std::string service = "service";
  std::string token;
  std::string time = "2015-08-30T12:36:00Z";
  bool presign = false;
  int expires = 3600;
  bool checksum = false;  // x-amz-content-sha256, as the SDK's clients send it
  bool s3 = false;        // the path signed as sent
};

Case make(std::string name) {
  Case c;
  c.name = std::move(name);
  return c;
}

std::vector<Case> cases() {
  std::vector<Case> all;
  auto add = [&](Case c) { all.push_back(std::move(c)); };
  Case ecs = make("ECS JSON 1.1 POST");
  ecs.method = "POST";
  ecs.host = "ecs.eu-west-1.amazonaws.com";
  ecs.region = "eu-west-1";
  ecs.service = "ecs";
  ecs.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeServices"}};
  ecs.body = R"({"cluster":"prod","services":["web-a1b2c3","web-d4e5f6"],"include":["TAGS"]})";
  ecs.checksum = true;
  add(ecs);
  Case ecs_token = ecs;
  ecs_token.name = "ECS JSON 1.1 POST with a session token";
  ecs_token.token = k_token;
  ecs_token.time = "2026-02-28T23:59:59Z";
  add(ecs_token);
  Case ecr = ecs;
  ecr.name = "ECR (signing name ecr) with UTF-8 in the body";
  ecr.host = "api.ecr.ap-southeast-2.amazonaws.com";
  ecr.region = "ap-southeast-2";
  ecr.service = "ecr";
  ecr.headers[1].second = "AmazonEC2ContainerRegistry_V20150921.DescribeImages";
  ecr.body =
      "{\"repositoryName\":\"caf\xc3\xa9/app\",\"imageIds\":[{\"imageTag\":\"v1 \xe2\x9c\x93\"}]}";
  add(ecr);
  Case cw = ecs;
  cw.name = "CloudWatch JSON 1.0 in cn-north-1";
  cw.host = "monitoring.cn-north-1.amazonaws.com.cn";
  cw.region = "cn-north-1";
  cw.service = "monitoring";
  cw.headers = {{"Content-Type", "application/x-amz-json-1.0"},
                {"X-Amz-Target", "GraniteServiceVersion20100801.GetMetricData"},
                {"x-amzn-query-mode", "true"}};
  add(cw);
  Case sts = make("STS query POST form body");
  sts.method = "POST";
  sts.host = "sts.us-east-1.amazonaws.com";
  sts.service = "sts";
  sts.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  sts.body = "Action=GetCallerIdentity&Version=2011-06-15";
  sts.checksum = true;
  add(sts);
  Case elb = sts;
  elb.name = "ELBv2 query POST with encoded members";
  elb.host = "elasticloadbalancing.us-west-2.amazonaws.com";
  elb.region = "us-west-2";
  elb.service = "elasticloadbalancing";
  elb.body =
      "Action=ModifyRule&Version=2015-12-01&RuleArn=arn%3Aaws%3Aelasticloadbalancing%3A"
      "us-west-2%3A1%3Alistener-rule%2Fapp%2Fa%2Fb%2Fc%2Fd&Actions.member.1.Type=forward";
  elb.token = k_token;
  add(elb);
  Case q = make("GET with a tricky query");
  q.query = {{"b", "2"},         {"a", "x y+z/=&?"}, {"A", "upper"},
             {"a", "1"},         {"empty", ""},      {"\xe1\x88\xb4", "\xc3\xa9"},
             {"t", "~-._*'()!"}, {"pct", "100%"},    {"a-b", "dash"}};
  add(q);
  Case unreserved = make("GET with every unreserved character in the query");
  unreserved.query = {{"-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                       "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}};
  add(unreserved);
  Case p1 = make("GET with an encoded path");
  p1.path = "/a%20b/c%2Fd/%E1%88%B4/%C3%A9t%C3%A9";
  add(p1);
  Case p2 = make("GET with dot segments and double slashes");
  p2.path = "//a/./b/../c//d/./";
  add(p2);
  Case p3 = make("GET climbing above the root");
  p3.path = "/a/b/../../../..";
  add(p3);
  Case p4 = make("GET with reserved characters in the path");
  p4.path = "/$delete/:@!'()*,;=+/x";
  add(p4);
  Case p5 = make("GET with an empty segment and a trailing slash");
  p5.path = "/a//b/";
  p5.query = {{"list-type", "2"}};
  add(p5);
  Case h = make("GET with spaced, cased and unsignable headers");
  h.headers = {{"My-Header1", "  a   b \t c  "},
               {"X-Amz-Meta-Name", "caf\xc3\xa9"},
               {"ZZ-Last", "z"},
               {"User-Agent", "zerotouch/1.0"},
               {"X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"},
               {"Proxy-Authorization", "Basic eA=="},
               {"Cache-Control", "no-cache"}};
  add(h);
  Case port = make("GET to a non-default port");
  port.host = "localhost.localstack.cloud";
  port.port = 4566;
  port.scheme = "http";
  add(port);
  Case upper = make("GET to a host with capitals, at midnight UTC");
  upper.host = "Example.AmazonAWS.com";
  upper.time = "2024-02-29T00:00:00Z";
  add(upper);
  Case empty_post = make("POST with an empty body and a checksum");
  empty_post.method = "POST";
  empty_post.checksum = true;
  add(empty_post);
  Case binary = make("PUT with a binary body");
  binary.method = "PUT";
  for (int i = 0; i < 256; ++i) {
    binary.body += static_cast<char>(i);
  }
  binary.checksum = true;
  add(binary);
  Case big = make("POST with a 200 KiB body");
  big.method = "POST";
  big.body = std::string(200 * 1024, 'x');
  add(big);
  Case s3 = make("S3 path signed as sent");
  s3.host = "bucket.s3.us-east-1.amazonaws.com";
  s3.service = "s3";
  s3.s3 = true;
  s3.checksum = true;
  s3.path = "/my-object//example//photo.user";
  add(s3);
  Case other_service = make("Application Auto Scaling with a long token");
  other_service.method = "POST";
  other_service.host = "application-autoscaling.eu-central-1.amazonaws.com";
  other_service.region = "eu-central-1";
  other_service.service = "application-autoscaling";
  other_service.token = std::string(900, 'T') + "/+=";
  other_service.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                           {"X-Amz-Target", "AnyScaleFrontendService.DescribeScalableTargets"}};
  other_service.body = R"({"ServiceNamespace":"ecs"})";
  add(other_service);
  Case pre = make("presigned GET");
  pre.presign = true;
  add(pre);
  Case pre_token = make("presigned GET with a query, a token and a week");
  pre_token.presign = true;
  pre_token.host = "sts.us-east-1.amazonaws.com";
  pre_token.service = "sts";
  pre_token.query = {{"Action", "GetCallerIdentity"}, {"Version", "2011-06-15"}};
  pre_token.headers = {{"x-k8s-aws-id", "prod-cluster"}};
  pre_token.token = k_token;
  pre_token.expires = 604800;
  add(pre_token);
  Case pre_hoist = make("presigned GET hoisting x-amz-* headers into the query");
  pre_hoist.presign = true;
  pre_hoist.headers = {{"X-Amz-Meta-Color", "blue green"}, {"My-Header", "kept"}};
  pre_hoist.query = {{"z", "last"}, {"a", "first"}};
  pre_hoist.expires = 60;
  add(pre_hoist);
  Case pre_post = make("presigned POST with a body and an encoded path");
  pre_post.presign = true;
  pre_post.method = "POST";
  pre_post.path = "/x%2By/./z";
  pre_post.body = "Param1=value1";
  pre_post.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  add(pre_post);
  return all;
}

std::string wire_query(const Pairs& query) {
  std::string out;
  for (const auto& [k, v] : query) {
    out += (out.empty() ? "" : "&") + uri_encode(k) + "=" + uri_encode(v);
  }
  return out;
}

sys::HttpRequest ztp_request(const Case& c) {
  sys::HttpRequest req;
  req.method = c.method;
  req.url = c.scheme + "://" + c.host + (c.port != 0 ? ":" + std::to_string(c.port) : "") + c.path +
            (c.query.empty() ? "" : "?" + wire_query(c.query));
  req.headers = c.headers;
  req.body = c.body;
  return req;
}

json credentials_json(const std::string& token) {
  json creds = {{"accessKeyId", k_access_key}, {"secretAccessKey", k_secret_key}};
  if (!token.empty()) {
    creds["sessionToken"] = token;
  }
  return creds;
}

json sdk_request(const Case& c) {
  json query = json::object();
  for (const auto& [k, v] : c.query) {
    if (!query.contains(k)) {
      query[k] = v;
    } else if (query[k].is_array()) {
      query[k].push_back(v);
    } else {
      query[k] = json::array({query[k], v});
    }
  }
  json headers = json::object();
  for (const auto& [k, v] : c.headers) {
    headers[k] = v;
  }
  json r = {{"method", c.method},
            {"protocol", c.scheme + ":"},
            {"hostname", c.host},
            {"port", c.port != 0 ? json(c.port) : json(nullptr)},
            {"path", c.path},
            {"query", query},
            {"headers", headers},
            {"body_base64", sys::base64(c.body)},
            {"credentials", credentials_json(c.token)},
            {"region", c.region},
            {"service", c.service},
            {"time", c.time},
            {"presign", c.presign},
            {"expires", c.expires},
            {"apply_checksum", c.checksum},
            {"uri_escape_path", !c.s3}};
  return r;
}

// The decoded query of a URL, sorted.
Pairs query_of(const std::string& url) {
  Pairs out;
  size_t q = url.find('?');
  std::string_view rest = q == std::string::npos ? "" : std::string_view(url).substr(q + 1);
  while (!rest.empty()) {
    std::string_view piece = rest.substr(0, rest.find('&'));
    size_t eq = piece.find('=');
    // '+' is a literal plus here: what ztp and the SDK write encode spaces as %20.
    auto decode = [](std::string_view s) {
      std::string plus_kept;
      for (char ch : s) {
        plus_kept += ch == '+' ? std::string("%2B") : std::string(1, ch);
      }
      return testing::percent_decode(plus_kept);
    };
    out.emplace_back(decode(piece.substr(0, eq)),
                     eq == std::string_view::npos ? "" : decode(piece.substr(eq + 1)));
    rest.remove_prefix(std::min(rest.size(), piece.size() + 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Pairs sdk_query(const json& query) {
  Pairs out;
  for (const auto& [k, v] : query.items()) {
    if (v.is_array()) {
      for (const auto& each : v) {
        out.emplace_back(k, each.get<std::string>());
      }
    } else {
      out.emplace_back(k, v.get<std::string>());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The headers a signature adds, by lower-case name.
std::map<std::string, std::string> signature_headers(const Pairs& headers) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : headers) {
    std::string name = text::to_lower(k);
    if (name == "authorization" || name.starts_with("x-amz-")) {
      out[name] = v;
    }
  }
  return out;
}

std::map<std::string, std::string> signature_headers(const json& headers) {
  Pairs pairs;
  for (const auto& [k, v] : headers.items()) {
    pairs.emplace_back(k, v.get<std::string>());
  }
  return signature_headers(pairs);
}

TEST_F(SdkSignerTest, SignsEveryRequestAsTheSdkDoes) {
  std::vector<Case> all = cases();
  json input = {{"mode", "sign"}, {"requests", json::array()}};
  for (const Case& c : all) {
    input["requests"].push_back(sdk_request(c));
  }
  json output = run_sign_mjs(input);
  ASSERT_FALSE(output.is_null());
  ASSERT_EQ(output["results"].size(), all.size());
  int same = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const Case& c = all[i];
    SCOPED_TRACE(c.name);
    const json& sdk = output["results"][i];
    sys::HttpRequest req = ztp_request(c);
    SigningParams params;
    params.region = c.region;
    params.service = c.service;
    params.time = sys::parse_rfc3339(c.time).value();
    params.content_sha256_header = c.checksum;
    params.normalize_path = !c.s3;
    params.escape_path = !c.s3;
    Credentials creds{k_access_key, k_secret_key, c.token};
    auto signed_ = c.presign ? presign(req, creds, params, std::chrono::seconds(c.expires))
                             : sign(req, creds, params);
    ASSERT_TRUE(signed_.ok()) << signed_.error().message;
    bool ok = true;
    if (c.presign) {
      Pairs ours = query_of(req.url);
      EXPECT_EQ(ours, sdk_query(sdk["query"])) << req.url;
      ok = ours == sdk_query(sdk["query"]);
    } else {
      auto ours = signature_headers(req.headers);
      auto theirs = signature_headers(sdk["headers"]);
      EXPECT_EQ(ours, theirs) << signed_->canonical_request;
      EXPECT_TRUE(theirs.contains("authorization"));
      ok = ours == theirs;
    }
    same += ok ? 1 : 0;
  }
  std::cout << "[ SDK      ] @smithy/signature-v4: " << same << " of " << all.size()
            << " requests signed identically\n";
  EXPECT_GE(all.size(), 24u);
}

// A capture server answering every request with an empty JSON object.
struct CaptureServer {
  testing::FakeHttpServer server{[](const testing::FakeRequest&) {
    return testing::FakeResponse{200, {{"Content-Type", "application/json"}}, "{}"};
  }};
};

TEST_F(SdkSignerTest, TheRealClientsSignAsZtpDoes) {
  struct Call {
    std::string client;
    std::string command;
    json input;
  };
  std::vector<Call> calls = {
      {"sts", "GetCallerIdentity", json::object()},
      {"sts",
       "AssumeRole",
       {{"RoleArn", "arn:aws:iam::123456789012:role/deploy"},
        {"RoleSessionName", "ztp session+1"},
        {"Policy", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]})"}}},
      {"ecs", "ListClusters", json::object()},
      {"ecs",
       "DescribeServices",
       {{"cluster", "prod"}, {"services", {"web-\xc3\xa9", "api"}}, {"include", {"TAGS"}}}},
      {"elbv2", "DescribeTargetGroups", {{"Names", {"a b", "c/d"}}}},
      {"cloudwatch",
       "GetMetricData",
       {{"MetricDataQueries",
         {{{"Id", "requests"},
           {"MetricStat",
            {{"Metric",
              {{"Namespace", "AWS/ApplicationELB"},
               {"MetricName", "RequestCount"},
               {"Dimensions", {{{"Name", "TargetGroup"}, {"Value", "targetgroup/web/1"}}}}}},
             {"Period", 60},
             {"Stat", "Sum"}}}}}},
        {"StartTime", "2026-01-01T00:00:00Z"},
        {"EndTime", "2026-01-01T01:00:00Z"}}},
      {"logs", "FilterLogEvents", {{"logGroupName", "/ecs/web"}, {"filterPattern", "\"ERROR\""}}},
      {"ecr", "DescribeRepositories", {{"repositoryNames", {"team/app"}}}},
      {"autoscaling", "DescribeScalableTargets", {{"ServiceNamespace", "ecs"}}},
  };
  int same = 0;
  int total = 0;
  for (const std::string& token : {std::string(), std::string(k_token)}) {
    CaptureServer capture;
    json input = {{"mode", "clients"},
                  {"endpoint", "http://" + capture.server.host()},
                  {"region", "eu-west-1"},
                  {"credentials", credentials_json(token)},
                  {"calls", json::array()}};
    for (const Call& call : calls) {
      input["calls"].push_back(
          {{"client", call.client}, {"command", call.command}, {"input", call.input}});
    }
    json output = run_sign_mjs(input);
    ASSERT_FALSE(output.is_null());
    auto captured = capture.server.requests();
    ASSERT_EQ(captured.size(), calls.size()) << output.dump();
    for (size_t i = 0; i < calls.size(); ++i) {
      ++total;
      const testing::FakeRequest& r = captured[i];
      SCOPED_TRACE(calls[i].client + " " + calls[i].command + (token.empty() ? "" : " (token)"));
      const ServiceInfo* service = find_service(calls[i].client);
      ASSERT_NE(service, nullptr);
      sys::HttpRequest req;
      req.method = r.method;
      req.url = "http://" + capture.server.host() + r.target;
      for (const auto& [name, value] : r.headers) {
        if (name != "authorization") {
          req.headers.emplace_back(name, value);
        }
      }
      req.body = r.body;
      SigningParams params;
      params.region = "eu-west-1";
      params.service = std::string(service->signing_name);
      auto at = sys::parse_utc(r.header("x-amz-date"), "%Y%m%dT%H%M%SZ");
      ASSERT_TRUE(at.ok()) << r.header("x-amz-date");
      params.time = *at;
      auto signed_ = sign(req, Credentials{k_access_key, k_secret_key, token}, params);
      ASSERT_TRUE(signed_.ok()) << signed_.error().message;
      std::string ours;
      for (const auto& [name, value] : req.headers) {
        ours = name == "Authorization" ? value : ours;
      }
      EXPECT_EQ(ours, r.header("authorization")) << signed_->canonical_request;
      EXPECT_EQ(r.header("x-amz-security-token"), token);
      same += ours == r.header("authorization") ? 1 : 0;
    }
  }
  std::cout << "[ SDK      ] real clients: " << same << " of " << total
            << " captured requests re-signed identically\n";
}

TEST_F(SdkSignerTest, AssumeRoleWithWebIdentityIsSentAsTheStsClientSendsIt) {
  const std::string role = "arn:aws:iam::123456789012:role/ci";
  const std::string session = "ci run 42";
  const std::string token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0+/=.c2ln~";
  CaptureServer sdk;
  json input = {
      {"mode", "clients"},
      {"endpoint", "http://" + sdk.server.host()},
      {"region", "eu-west-1"},
      {"credentials", credentials_json("")},
      {"calls",
       {{{"client", "sts"},
         {"command", "AssumeRoleWithWebIdentity"},
         {"input",
          {{"RoleArn", role}, {"RoleSessionName", session}, {"WebIdentityToken", token}}}}}}};
  ASSERT_FALSE(run_sign_mjs(input).is_null());
  CaptureServer ours;
  sys::HttpClient client;
  (void)assume_role_with_web_identity({"http://" + ours.server.host(), role, session, token},
                                      client);
  auto sent_by_sdk = sdk.server.requests();
  auto sent_by_ztp = ours.server.requests();
  ASSERT_EQ(sent_by_sdk.size(), 1u);
  ASSERT_EQ(sent_by_ztp.size(), 1u);
  const testing::FakeRequest& theirs = sent_by_sdk[0];
  const testing::FakeRequest& mine = sent_by_ztp[0];
  EXPECT_EQ(mine.method, theirs.method);
  EXPECT_EQ(mine.target, theirs.target);
  EXPECT_EQ(mine.header("content-type"), theirs.header("content-type"));
  EXPECT_EQ(mine.body, theirs.body);
  // The call is unsigned: the token is the proof of identity.
  for (const char* name : {"authorization", "x-amz-date", "x-amz-security-token"}) {
    EXPECT_EQ(theirs.header(name), "") << name;
    EXPECT_EQ(mine.header(name), "") << name;
  }
}

}  // namespace
}  // namespace ztp::aws
