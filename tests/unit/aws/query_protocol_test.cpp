// The awsQuery protocol: botocore's protocol tests (input: params -> the form sent; output: a
// raw XML answer -> the parsed output or error) run through AwsClient with an injected
// exchange, and the form flattening, the XML view and the error envelopes on their own.
#include "aws/query_protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "aws/client.hpp"
#include "aws/json_protocol.hpp"
#include "support/aws_shapes.hpp"
#include "support/support.hpp"

namespace ztp::aws {
namespace {

using nlohmann::json;
using testing::AwsShapes;
using testing::member_or_empty;

json read_vector(const std::string& relative) {
  std::ifstream in(testing::vector_path(relative));
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), nullptr, false);
}

std::set<std::string> upstream_ignored(const std::string& direction) {
  json list = read_vector("aws-models/protocol-tests/protocol-tests-ignore-list.json");
  std::set<std::string> ids;
  for (const auto& id :
       list.value(json::json_pointer("/protocols/query/" + direction + "/cases"), json::array())) {
    ids.insert(id.get<std::string>());
  }
  return ids;
}

int failures_so_far() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
}

// botocore's params in the JSON tree a ztp caller gives call_query (timestamps as ISO 8601 or,
// with timestampFormat unixTimestamp, epoch seconds; blobs as base64), collecting the names of
// map members into `maps`; a reason in `skip` when the case needs what ztp does not offer.
json to_params(const AwsShapes& shapes, const json& shape, const json& value,
               std::set<std::string>& maps, std::string& skip, const std::string& format = "") {
  std::string type = shape.value("type", "");
  if (type == "structure") {
    json out = json::object();
    const json& members = member_or_empty(shape, "members");
    for (const auto& [name, item] : value.items()) {
      if (!members.contains(name)) {
        skip = "a member the shape does not have: " + name;
        continue;
      }
      const json& member = members[name];
      if (member.contains("locationName") || member.value("flattened", false)) {
        skip =
            "a renamed (xmlName) or flattened member: no input of the services ztp calls "
            "has one";
      }
      const json& target = shapes.shape(member["shape"]);
      if (target.value("type", "") == "map") {
        maps.insert(name);
      }
      out[name] = to_params(shapes, target, item, maps, skip, member.value("timestampFormat", ""));
    }
    return out;
  }
  if (type == "list") {
    if (shape["member"].contains("locationName")) {
      skip = "a list with renamed items: no input of the services ztp calls has one";
    }
    json out = json::array();
    for (const auto& item : value) {
      out.push_back(to_params(shapes, shapes.shape(shape["member"]["shape"]), item, maps, skip));
    }
    return out;
  }
  if (type == "map") {
    if (shape["key"].contains("locationName") || shape["value"].contains("locationName")) {
      skip = "a map with renamed keys or values: no input of the services ztp calls has one";
    }
    json out = json::object();
    for (const auto& [key, item] : value.items()) {
      out[key] = to_params(shapes, shapes.shape(shape["value"]["shape"]), item, maps, skip);
    }
    return out;
  }
  if (type == "timestamp") {
    sys::WallTime at = sys::from_unix_ms(static_cast<std::int64_t>(value.get<double>() * 1000));
    std::string f = format.empty() ? shape.value("timestampFormat", "iso8601") : format;
    return f == "unixTimestamp" ? json_timestamp(at) : json(iso8601_timestamp(at));
  }
  if (type == "blob") {
    return json_blob(value.get<std::string>());
  }
  return value;
}

struct Capture {
  std::vector<sys::HttpRequest> requests;
  std::vector<std::string> bodies;
  sys::HttpResponse answer;
  sys::HttpClient::Send send() {
    return [this](const sys::HttpRequest& req, const sys::HttpOptions&) {
      requests.push_back(req);
      bodies.emplace_back(req.body);
      return Result<sys::HttpResponse>(answer);
    };
  }
};

AwsClient suite_client(const json& suite, Capture& capture, const std::string& endpoint,
                       const std::set<std::string>& maps = {}) {
  ServiceDescription d;
  d.query_maps.assign(maps.begin(), maps.end());
  d.display_name = "QueryProtocol";
  d.signing_name = "queryprotocol";
  d.endpoint = endpoint;
  d.protocol = Protocol::query;
  d.api_version = suite["metadata"].value("apiVersion", "");
  AwsClientOptions options;
  options.send = capture.send();
  options.retry.max_attempts = 1;
  return AwsClient(d, nullptr, options);
}

std::string header(const sys::HttpRequest& req, std::string_view name) {
  sys::HttpResponse view;
  view.headers = req.headers;
  return view.header(name);
}

std::string media_type(const std::string& content_type) {
  return content_type.substr(0, content_type.find(';'));
}

testing::AwsForm sorted(testing::AwsForm form) {
  std::sort(form.begin(), form.end());
  return form;
}

void check_input_case(const json& suite, const AwsShapes& shapes, const json& c, const json& params,
                      const std::set<std::string>& maps) {
  const json& given = c["given"];
  const json& want = c["serialized"];
  Capture capture;
  capture.answer.status = 200;
  AwsClient client =
      suite_client(suite, capture, suite.value("clientEndpoint", "https://example.com"), maps);
  auto out = client.call_query(given["name"].get<std::string>(), params);
  ASSERT_EQ(capture.requests.size(), 1u);
  const sys::HttpRequest& req = capture.requests[0];
  EXPECT_EQ(req.method, want["method"]);
  std::string path = req.url.substr(req.url.find('/', req.url.find("://") + 3));
  EXPECT_EQ(path, want["uri"]);
  for (const auto& [name, value] : member_or_empty(want, "headers").items()) {
    // ztp adds "; charset=utf-8" to the media type, as botocore sends it.
    EXPECT_EQ(media_type(header(req, name)), media_type(value.get<std::string>())) << name;
  }
  testing::AwsForm sent = testing::parse_aws_form(capture.bodies[0]);
  if (want.contains("body")) {
    EXPECT_EQ(sorted(sent), sorted(testing::parse_aws_form(want["body"].get<std::string>())));
  }
  if (given.contains("input")) {
    std::vector<std::string> problems;
    testing::AwsForm params_only(sent.begin() + 2, sent.end());
    json tree = shapes.query_tree(given["input"]["shape"], params_only, problems);
    auto more = shapes.check(given["input"]["shape"], tree, AwsShapes::Wire::query);
    problems.insert(problems.end(), more.begin(), more.end());
    EXPECT_TRUE(problems.empty()) << problems.front();
  }
}

void check_output_case(const json& suite, const AwsShapes& shapes, const json& c) {
  const json& given = c["given"];
  const json& raw = c["response"];
  Capture capture;
  capture.answer.status = raw["status_code"].get<long>();
  for (const auto& [name, value] : member_or_empty(raw, "headers").items()) {
    capture.answer.headers.emplace_back(name, value.get<std::string>());
  }
  capture.answer.body = raw.value("body", "");
  AwsClient client = suite_client(suite, capture, "https://example.com");
  AwsError detail;
  auto out = client.call_query(given["name"].get<std::string>(), json::object(), &detail);
  if (c.contains("errorCode")) {
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(detail.code, c["errorCode"]);
    EXPECT_EQ(detail.message, c.value("errorMessage", c["error"].value("Message", "")));
    EXPECT_EQ(detail.request_id, "foo-id");
    EXPECT_EQ(detail.status, capture.answer.status);
    return;
  }
  ASSERT_TRUE(out.ok()) << out.error().message;
  std::string output_shape = given.contains("output") ? given["output"]["shape"] : "";
  json plain = output_shape.empty()
                   ? json::object()
                   : testing::xml_plain(shapes, output_shape, *out, testing::PlainBlobs::decoded);
  EXPECT_EQ(plain, c["result"]);
}

TEST(QueryProtocolTest, BotocoreInputVectors) {
  json suites = read_vector("aws-models/protocol-tests/input/query.json");
  ASSERT_TRUE(suites.is_array());
  std::set<std::string> ignored = upstream_ignored("input");
  int passed = 0;
  int skipped = 0;
  for (const auto& suite : suites) {
    AwsShapes shapes(json{{"shapes", suite["shapes"]}});
    for (const auto& c : suite["cases"]) {
      std::string id = c.value("id", "?");
      const json& given = c["given"];
      std::string skip;
      std::set<std::string> maps;
      json params = json::object();
      if (given.contains("input")) {
        const json& input = shapes.shape(given["input"]["shape"]);
        params = to_params(shapes, input, c["params"], maps, skip);
        for (const auto& [name, member] : member_or_empty(input, "members").items()) {
          if (member.value("idempotencyToken", false) && !params.contains(name)) {
            skip = "idempotency token auto-fill: ztp's callers pass their client tokens";
          }
        }
      }
      if (given.contains("endpoint")) {
        skip = "a host prefix (endpoint trait): no operation ztp calls has one";
      } else if (given.contains("requestcompression")) {
        skip = "request compression: ztp sends no compressed bodies";
      }
      if (!skip.empty()) {
        std::cout << "  skipped " << id << ": " << skip
                  << (ignored.count(id) ? " (botocore skips it too)" : "") << "\n";
        ++skipped;
        continue;
      }
      SCOPED_TRACE(id);
      int before = failures_so_far();
      check_input_case(suite, shapes, c, params, maps);
      bool ok = failures_so_far() == before;
      passed += ok ? 1 : 0;
      if (ok && ignored.count(id)) {
        std::cout << "  passed " << id << ", which botocore skips\n";
      }
    }
  }
  std::cout << "input/query.json: " << passed << " passed, " << skipped << " skipped\n";
  EXPECT_EQ(passed, 26);
  EXPECT_EQ(skipped, 12);
}

TEST(QueryProtocolTest, BotocoreOutputVectors) {
  json suites = read_vector("aws-models/protocol-tests/output/query.json");
  ASSERT_TRUE(suites.is_array());
  std::set<std::string> ignored = upstream_ignored("output");
  int passed = 0;
  for (const auto& suite : suites) {
    AwsShapes shapes(json{{"shapes", suite["shapes"]}});
    for (const auto& c : suite["cases"]) {
      std::string id = c.value("id", "?");
      SCOPED_TRACE(id);
      int before = failures_so_far();
      check_output_case(suite, shapes, c);
      bool ok = failures_so_far() == before;
      passed += ok ? 1 : 0;
      if (ok && ignored.count(id)) {
        std::cout << "  passed " << id << ", which botocore skips\n";
      }
    }
  }
  std::cout << "output/query.json: " << passed << " passed, 0 skipped\n";
  EXPECT_EQ(passed, 38);
}

TEST(QueryProtocolTest, FlattensStructuresListsAndMaps) {
  // A ModifyRule that keeps an authenticate-oidc action before a weighted forward.
  json params = {
      {"RuleArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/a/b/c/d"},
      {"Actions",
       {{{"Type", "authenticate-oidc"},
         {"Order", 1},
         {"AuthenticateOidcConfig",
          {{"Issuer", "https://idp.example.com"},
           {"AuthorizationEndpoint", "https://idp.example.com/authorize"},
           {"TokenEndpoint", "https://idp.example.com/token"},
           {"UserInfoEndpoint", "https://idp.example.com/userinfo"},
           {"ClientId", "ztp"},
           {"AuthenticationRequestExtraParams", {{"prompt", "login"}, {"display", "page"}}}}}},
        {{"Type", "forward"},
         {"Order", 2},
         {"ForwardConfig",
          {{"TargetGroups",
            {{{"TargetGroupArn", "tg-blue"}, {"Weight", 90}},
             {{"TargetGroupArn", "tg-green"}, {"Weight", 10}}}},
           {"TargetGroupStickinessConfig", {{"Enabled", false}}}}}}}},
      {"Conditions", json::array()},
      {"Unused", nullptr}};
  std::array<std::string_view, 1> maps{"AuthenticationRequestExtraParams"};
  auto form = query_form(params, maps);
  ASSERT_TRUE(form.ok()) << form.error().message;
  testing::AwsForm want = {
      {"Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key",
       "display"},
      {"Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.value",
       "page"},
      {"Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.2.key",
       "prompt"},
      {"Actions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.2.value",
       "login"},
      {"Actions.member.1.AuthenticateOidcConfig.AuthorizationEndpoint",
       "https://idp.example.com/authorize"},
      {"Actions.member.1.AuthenticateOidcConfig.ClientId", "ztp"},
      {"Actions.member.1.AuthenticateOidcConfig.Issuer", "https://idp.example.com"},
      {"Actions.member.1.AuthenticateOidcConfig.TokenEndpoint", "https://idp.example.com/token"},
      {"Actions.member.1.AuthenticateOidcConfig.UserInfoEndpoint",
       "https://idp.example.com/userinfo"},
      {"Actions.member.1.Order", "1"},
      {"Actions.member.1.Type", "authenticate-oidc"},
      {"Actions.member.2.ForwardConfig.TargetGroupStickinessConfig.Enabled", "false"},
      {"Actions.member.2.ForwardConfig.TargetGroups.member.1.TargetGroupArn", "tg-blue"},
      {"Actions.member.2.ForwardConfig.TargetGroups.member.1.Weight", "90"},
      {"Actions.member.2.ForwardConfig.TargetGroups.member.2.TargetGroupArn", "tg-green"},
      {"Actions.member.2.ForwardConfig.TargetGroups.member.2.Weight", "10"},
      {"Actions.member.2.Order", "2"},
      {"Actions.member.2.Type", "forward"},
      {"Conditions", ""},
      {"RuleArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/a/b/c/d"},
  };
  EXPECT_EQ(sorted(*form), sorted(want));

  AwsShapes elbv2 =
      AwsShapes::load(testing::vector_path("aws-models/elbv2/2015-12-01/service-2.json"));
  auto problems = elbv2.check_query_input("ModifyRule", *form);
  EXPECT_TRUE(problems.empty()) << problems.front();
  // Without the map's name the same params fit no model: the check sees it.
  auto as_structure = query_form(params);
  ASSERT_TRUE(as_structure.ok());
  EXPECT_FALSE(elbv2.check_query_input("ModifyRule", *as_structure).empty());
}

TEST(QueryProtocolTest, ScalarsAndRefusals) {
  auto form = query_form({{"A", true}, {"B", 1.5}, {"C", -7}, {"D", 2.0}, {"E", "x y"}});
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(*form,
            (testing::AwsForm{{"A", "true"}, {"B", "1.5"}, {"C", "-7"}, {"D", "2"}, {"E", "x y"}}));
  EXPECT_TRUE(query_form(json()).ok());
  EXPECT_EQ(query_form(json::array()).error().code, Errc::invalid);
  std::array<std::string_view, 1> maps{"Tags"};
  EXPECT_EQ(query_form({{"Tags", json::array()}}, maps).error().code, Errc::invalid);
}

TEST(QueryProtocolTest, BodyEncodesEverythingButUnreserved) {
  std::string body = query_body("AssumeRoleWithWebIdentity", "2011-06-15",
                                {{"RoleSessionName", "ztp deploy/1"},
                                 {"WebIdentityToken", "a.b-c_d~e+f=g&h"},
                                 {"Name", "caf\xc3\xa9"}});
  EXPECT_EQ(body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=ztp%20deploy%2F1&"
            "WebIdentityToken=a.b-c_d~e%2Bf%3Dg%26h&Name=caf%C3%A9");
  EXPECT_EQ(sorted(testing::parse_aws_form(body)), sorted({{"Action", "AssumeRoleWithWebIdentity"},
                                                           {"Version", "2011-06-15"},
                                                           {"RoleSessionName", "ztp deploy/1"},
                                                           {"WebIdentityToken", "a.b-c_d~e+f=g&h"},
                                                           {"Name", "caf\xc3\xa9"}}));
  EXPECT_EQ(query_content_type(), "application/x-www-form-urlencoded; charset=utf-8");
}

TEST(QueryProtocolTest, XmlViewReadsTheResult) {
  std::string body =
      R"(<DescribeTargetGroupsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <DescribeTargetGroupsResult>
    <TargetGroups>
      <member><TargetGroupName>web-blue</TargetGroupName><Port>8080</Port>
        <HealthCheckEnabled>true</HealthCheckEnabled><LoadBalancerArns/></member>
      <member><TargetGroupName>a &amp; b</TargetGroupName><Port>x</Port></member>
    </TargetGroups>
    <NextMarker>m2</NextMarker>
  </DescribeTargetGroupsResult>
  <ResponseMetadata><RequestId>8f3c</RequestId></ResponseMetadata>
</DescribeTargetGroupsResponse>)";
  auto result = parse_query_answer("DescribeTargetGroups", body);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->name(), "DescribeTargetGroupsResult");
  auto groups = result->members("TargetGroups");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].text("TargetGroupName"), "web-blue");
  EXPECT_EQ(*groups[0].child("Port").as_int(), 8080);
  EXPECT_TRUE(*groups[0].child("HealthCheckEnabled").as_bool());
  EXPECT_TRUE(groups[0].has("LoadBalancerArns"));
  EXPECT_TRUE(groups[0].members("LoadBalancerArns").empty());
  EXPECT_EQ(groups[1].text("TargetGroupName"), "a & b");
  EXPECT_EQ(groups[1].child("Port").as_int().error().code, Errc::invalid);
  EXPECT_FALSE(groups[1].has("Missing"));
  EXPECT_EQ(groups[1].child("Missing").text("Deeper"), "");
  EXPECT_EQ(result->text("NextMarker"), "m2");
  sys::HttpResponse res;
  res.body = body;
  EXPECT_EQ(query_request_id(res), "8f3c");
  res.headers = {{"x-amzn-RequestId", "from-header"}};
  EXPECT_EQ(query_request_id(res), "from-header");

  auto prefixed =
      XmlNode::parse(R"(<a:Root xmlns:a="urn:x"><a:Item>1.5</a:Item>)"
                     R"(<a:When>2015-01-25T08:00:00Z</a:When><a:B>Zm9v</a:B></a:Root>)");
  ASSERT_TRUE(prefixed.ok());
  EXPECT_EQ(prefixed->name(), "Root");
  EXPECT_DOUBLE_EQ(*prefixed->child("Item").as_double(), 1.5);
  EXPECT_EQ(*prefixed->child("When").as_time(), sys::from_unix_ms(1'422'172'800'000));
  EXPECT_EQ(*prefixed->child("B").as_blob(), "foo");
  EXPECT_FALSE(XmlNode().valid());
  EXPECT_TRUE(XmlNode().children().empty());
  EXPECT_EQ(parse_query_answer("X", "").value().valid(), false);
  EXPECT_EQ(parse_query_answer("X", "<not xml").error().code, Errc::invalid);
}

TEST(QueryProtocolTest, ErrorEnvelopes) {
  sys::HttpResponse res;
  res.status = 400;
  res.body = R"(<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <Error><Type>Sender</Type><Code>TargetGroupNotFound</Code>
    <Message>One or more target groups not found</Message></Error>
  <RequestId>0b7e2f</RequestId></ErrorResponse>)";
  AwsError e = query_error(res);
  EXPECT_EQ(e.code, "TargetGroupNotFound");
  EXPECT_EQ(e.message, "One or more target groups not found");
  EXPECT_EQ(e.request_id, "0b7e2f");
  EXPECT_EQ(e.status, 400);
  res.headers = {{"X-Amzn-RequestId", "header-id"}};
  EXPECT_EQ(query_error(res).request_id, "header-id");

  res.headers.clear();
  res.body = R"(<Response><Errors><Error><Code>UnauthorizedOperation</Code>)"
             R"(<Message>You are not authorized</Message></Error></Errors>)"
             R"(<RequestID>ec2-id</RequestID></Response>)";
  e = query_error(res);
  EXPECT_EQ(e.code, "UnauthorizedOperation");
  EXPECT_EQ(e.request_id, "ec2-id");

  res.status = 404;
  res.body = "";
  EXPECT_EQ(query_error(res).code, "NotFound");
  res.status = 503;
  res.body = "<html>Service Unavailable";
  e = query_error(res);
  EXPECT_EQ(e.code, "");
  EXPECT_EQ(e.status, 503);
}

}  // namespace
}  // namespace ztp::aws
