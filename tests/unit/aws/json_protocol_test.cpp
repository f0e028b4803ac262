// The awsJson1_0/1_1 protocol: botocore's protocol tests (input: params -> the request sent;
// output: a raw answer -> the parsed output or error) run through AwsClient with an injected
// exchange, and the protocol's own helpers.
#include "aws/json_protocol.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "aws/client.hpp"
#include "support/aws_shapes.hpp"
#include "support/support.hpp"
#include "sys/time.hpp"

namespace ztp::aws {
namespace {

using nlohmann::json;
using testing::AwsShapes;

json read_vector(const std::string& relative) {
  std::ifstream in(testing::vector_path(relative));
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), nullptr, false);
}

// The case ids botocore's own run skips (protocol-tests-ignore-list.json).
std::set<std::string> upstream_ignored(const std::string& protocol, const std::string& direction) {
  json list = read_vector("aws-models/protocol-tests/protocol-tests-ignore-list.json");
  std::set<std::string> ids;
  for (const auto& id :
       list.value(json::json_pointer("/protocols/" + protocol + "/" + direction + "/cases"),
                  json::array())) {
    ids.insert(id.get<std::string>());
  }
  return ids;
}

// A params value of botocore's tests (timestamps as epoch seconds, blobs as raw bytes) in the
// wire form a ztp caller builds with json_timestamp()/iso8601_timestamp()/json_blob(); a
// reason in `skip` when the case needs what ztp does not offer.
json to_wire(const AwsShapes& shapes, const json& shape, const json& value, std::string& skip) {
  std::string type = shape.value("type", "");
  if (value.is_null()) {
    return value;
  }
  if (type == "structure" && !shape.value("document", false)) {
    json out = json::object();
    const json& members = testing::member_or_empty(shape, "members");
    for (const auto& [name, item] : value.items()) {
      out[name] = members.contains(name)
                      ? to_wire(shapes, shapes.shape(members[name]["shape"]), item, skip)
                      : item;
    }
    return out;
  }
  if (type == "list") {
    json out = json::array();
    for (const auto& item : value) {
      out.push_back(to_wire(shapes, shapes.shape(shape["member"]["shape"]), item, skip));
    }
    return out;
  }
  if (type == "map") {
    json out = json::object();
    for (const auto& [key, item] : value.items()) {
      out[key] = to_wire(shapes, shapes.shape(shape["value"]["shape"]), item, skip);
    }
    return out;
  }
  if (type == "timestamp") {
    sys::WallTime at = sys::from_unix_ms(static_cast<std::int64_t>(value.get<double>() * 1000));
    std::string format = shape.value("timestampFormat", "unixTimestamp");
    if (format == "iso8601") {
      return iso8601_timestamp(at);
    }
    if (format != "unixTimestamp") {
      skip = "timestampFormat " + format + ": no input of the services ztp calls uses it";
    }
    return json_timestamp(at);
  }
  if (type == "blob") {
    return json_blob(value.get<std::string>());
  }
  return value;
}

// An answer's output in botocore's parsed form: timestamps (read by json_time) as epoch
// seconds, blobs decoded (by decode_base64), members not in the shape dropped.
json to_plain(const AwsShapes& shapes, const std::string& shape, const json& value) {
  auto timestamp = [](const json& v) -> json {
    auto at = json_time(v);
    if (!at.ok()) {
      return {{"unparsed", v}};
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at->time_since_epoch());
    return ms.count() % 1000 == 0 ? json(ms.count() / 1000) : json(ms.count() / 1000.0);
  };
  auto blob = [](const json& v) -> json {
    auto bytes = v.is_string() ? decode_base64(v.get<std::string>()) : decode_base64("!");
    return bytes.ok() ? json(*bytes) : json{{"unparsed", v}};
  };
  return testing::json_plain(shapes, shape, value, timestamp, blob);
}

ServiceDescription suite_service(const json& suite, std::string endpoint) {
  ServiceDescription d;
  d.display_name = "JsonProtocol";
  d.signing_name = "jsonprotocol";
  d.endpoint = std::move(endpoint);
  d.protocol = suite["metadata"].value("jsonVersion", "1.1") == "1.0" ? Protocol::json_1_0
                                                                      : Protocol::json_1_1;
  d.target_prefix = suite["metadata"].value("targetPrefix", "");
  d.api_version = suite["metadata"].value("apiVersion", "");
  return d;
}

// One exchange that records the request and answers `answer`.
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

AwsClientOptions one_attempt(Capture& capture) {
  AwsClientOptions options;
  options.send = capture.send();
  options.retry.max_attempts = 1;
  return options;
}

std::string url_path(const std::string& url) {
  size_t start = url.find('/', url.find("://") + 3);
  return start == std::string::npos ? "/" : url.substr(start);
}

std::string header(const sys::HttpRequest& req, std::string_view name) {
  sys::HttpResponse view;
  view.headers = req.headers;
  return view.header(name);
}

int failures_so_far() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
}

// One input case: the request AwsClient sends for `input` against the case's serialized form.
void check_input_case(const json& suite, const AwsShapes& shapes, const json& c,
                      const json& input) {
  const json& given = c["given"];
  const json& want = c["serialized"];
  Capture capture;
  capture.answer.status = 200;
  AwsClient client(suite_service(suite, suite.value("clientEndpoint", "https://example.com")),
                   nullptr, one_attempt(capture));
  auto out = client.call_json(given["name"].get<std::string>(), input);
  ASSERT_EQ(capture.requests.size(), 1u);
  const sys::HttpRequest& req = capture.requests[0];
  EXPECT_EQ(req.method, want["method"]);
  EXPECT_EQ(url_path(req.url), want["uri"]);
  for (const auto& [name, value] : testing::member_or_empty(want, "headers").items()) {
    EXPECT_EQ(header(req, name), value.get<std::string>()) << name;
  }
  // requireHeaders (Content-Length) is libcurl's to add, from the body.
  if (want.contains("body")) {
    json expected = json::parse(want["body"].get<std::string>(), nullptr, false);
    EXPECT_EQ(json::parse(capture.bodies[0], nullptr, false), expected);
  }
  if (given.contains("input")) {
    auto problems = shapes.check(given["input"]["shape"], json::parse(capture.bodies[0]),
                                 AwsShapes::Wire::json);
    EXPECT_TRUE(problems.empty()) << problems.front();
  }
}

// One output case: the output or error AwsClient reads from the case's answer.
void check_output_case(const json& suite, const AwsShapes& shapes, const json& c) {
  const json& given = c["given"];
  const json& raw = c["response"];
  Capture capture;
  capture.answer.status = raw["status_code"].get<long>();
  for (const auto& [name, value] : testing::member_or_empty(raw, "headers").items()) {
    capture.answer.headers.emplace_back(name, value.get<std::string>());
  }
  capture.answer.body = raw.value("body", "");
  AwsClient client(suite_service(suite, "https://example.com"), nullptr, one_attempt(capture));
  AwsError detail;
  auto out = client.call_json(given["name"].get<std::string>(), json::object(), &detail);
  if (c.contains("errorCode")) {
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(detail.code, c["errorCode"]);
    EXPECT_EQ(detail.message, c.value("errorMessage", c["error"].value("Message", "")));
    EXPECT_EQ(detail.status, capture.answer.status);
    return;
  }
  ASSERT_TRUE(out.ok()) << out.error().message;
  std::string output_shape = given.contains("output") ? given["output"]["shape"] : "";
  json plain = output_shape.empty() ? json::object() : to_plain(shapes, output_shape, *out);
  EXPECT_EQ(plain, c["result"]);
  EXPECT_EQ(request_id_header(capture.answer.headers), capture.answer.header("X-Amzn-Requestid"));
}

TEST(JsonProtocolTest, BotocoreInputVectors) {
  json suites = read_vector("aws-models/protocol-tests/input/json.json");
  ASSERT_TRUE(suites.is_array());
  std::set<std::string> ignored = upstream_ignored("json", "input");
  int passed = 0;
  int skipped = 0;
  for (const auto& suite : suites) {
    AwsShapes shapes(json{{"shapes", suite["shapes"]}});
    for (const auto& c : suite["cases"]) {
      std::string id = c.value("id", "?");
      const json& given = c["given"];
      std::string skip;
      if (given.contains("endpoint")) {
        skip = "a host prefix (endpoint trait): no operation ztp calls has one";
      } else if (given.contains("requestcompression")) {
        skip = "request compression: ztp sends no compressed bodies";
      }
      json input = given.contains("input")
                       ? to_wire(shapes, shapes.shape(given["input"]["shape"]), c["params"], skip)
                       : json::object();
      if (!skip.empty()) {
        std::cout << "  skipped " << id << ": " << skip
                  << (ignored.count(id) ? " (botocore skips it too)" : "") << "\n";
        ++skipped;
        continue;
      }
      SCOPED_TRACE(id);
      int before = failures_so_far();
      check_input_case(suite, shapes, c, input);
      bool ok = failures_so_far() == before;
      passed += ok ? 1 : 0;
      if (ok && ignored.count(id)) {
        std::cout << "  passed " << id << ", which botocore skips\n";
      }
    }
  }
  std::cout << "input/json.json: " << passed << " passed, " << skipped << " skipped\n";
  EXPECT_EQ(passed, 49);
  EXPECT_EQ(skipped, 5);
}

TEST(JsonProtocolTest, BotocoreOutputVectors) {
  json suites = read_vector("aws-models/protocol-tests/output/json.json");
  ASSERT_TRUE(suites.is_array());
  std::set<std::string> ignored = upstream_ignored("json", "output");
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
  std::cout << "output/json.json: " << passed << " passed, 0 skipped\n";
  EXPECT_EQ(passed, 58);
}

TEST(JsonProtocolTest, ErrorCodeFollowsTheSdkOrder) {
  sys::HttpResponse res;
  res.status = 400;
  res.headers = {{"X-Amzn-ErrorType", "HeaderError:http://internal/"},
                 {"x-amzn-RequestId", "5c2a7f10-aaaa"}};
  res.body = R"({"__type":"com.amazonaws.ecs#ClusterNotFoundException","code":"CodeError",)"
             R"("message":"Cluster not found."})";
  AwsError e = json_error(res);
  EXPECT_EQ(e.code, "ClusterNotFoundException");  // __type first
  EXPECT_EQ(e.message, "Cluster not found.");
  EXPECT_EQ(e.request_id, "5c2a7f10-aaaa");
  EXPECT_EQ(e.status, 400);

  res.body = R"({"Code":"aws.x#CodeError","Message":"upper-case members"})";
  e = json_error(res);
  EXPECT_EQ(e.code, "CodeError");
  EXPECT_EQ(e.message, "upper-case members");

  res.body = "not json";
  EXPECT_EQ(json_error(res).code, "HeaderError");
  res.headers.clear();
  EXPECT_EQ(json_error(res).code, "");
  EXPECT_EQ(json_error(res).request_id, "");
}

TEST(JsonProtocolTest, QueryCompatibleErrorsTakeTheQueryCode) {
  sys::HttpResponse res;
  res.status = 400;
  res.headers = {{"x-amzn-query-error", "InvalidParameterValue;Sender"},
                 {"x-amz-request-id", "rid-1"}};
  res.body = R"({"__type":"com.amazonaws.cloudwatch#InvalidParameterValueException",)"
             R"("message":"The value 1 for parameter Period is not valid."})";
  // The SDK maps the query code back to the modelled error __type names.
  AwsError compatible = json_error(res, true);
  EXPECT_EQ(compatible.code, "InvalidParameterValueException");
  EXPECT_EQ(compatible.message, "The value 1 for parameter Period is not valid.");
  EXPECT_EQ(compatible.request_id, "rid-1");
  // Without __type the query code names it, ahead of `code` and X-Amzn-ErrorType.
  res.body = R"({"code":"Other","message":"m"})";
  EXPECT_EQ(json_error(res, true).code, "InvalidParameterValue");
  EXPECT_EQ(json_error(res, false).code, "Other");
  res.headers.clear();
  EXPECT_EQ(json_error(res, true).code, "Other");
}

TEST(JsonProtocolTest, BodyDropsNullsAndRefusesWhatCannotBeSent) {
  json input = {{"cluster", "prod"}, {"nextToken", nullptr}, {"tags", {{{"key", nullptr}}}}};
  EXPECT_EQ(*json_body(input), R"({"cluster":"prod","tags":[{}]})");
  EXPECT_EQ(*json_body(json()), "{}");
  EXPECT_EQ(*json_body(json::object()), "{}");
  EXPECT_EQ(json_body(json::array()).error().code, Errc::invalid);
  auto bad_utf8 = json_body(json{{"name", std::string("\xff\xfe")}});
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_EQ(bad_utf8.error().code, Errc::invalid);
}

TEST(JsonProtocolTest, AnswersMustBeObjects) {
  sys::HttpResponse res;
  res.status = 200;
  res.body = "  ";
  EXPECT_EQ(*parse_json_answer(res), json::object());
  res.body = R"({"services":[{"serviceName":"web","deployments":null}]})";
  EXPECT_EQ(*parse_json_answer(res), json::parse(R"({"services":[{"serviceName":"web"}]})"));
  res.body = "[1]";
  EXPECT_EQ(parse_json_answer(res).error().code, Errc::invalid);
  res.body = "<html>";
  EXPECT_EQ(parse_json_answer(res).error().code, Errc::invalid);
}

TEST(JsonProtocolTest, Timestamps) {
  sys::WallTime t = sys::from_unix_ms(1'700'000'000'250);
  EXPECT_EQ(json_timestamp(t).dump(), "1700000000.25");
  EXPECT_EQ(json_timestamp(sys::from_unix_ms(1'700'000'000'000)).dump(), "1700000000");
  EXPECT_EQ(iso8601_timestamp(t), "2023-11-14T22:13:20.250Z");
  EXPECT_EQ(iso8601_timestamp(sys::from_unix_ms(1'422'172'800'000)), "2015-01-25T08:00:00Z");
  EXPECT_EQ(*json_time(json(1700000000.25)), t);
  EXPECT_EQ(*json_time(json("1700000000.25")), t);
  EXPECT_EQ(*json_time(json("2023-11-14T22:13:20.25Z")), t);
  EXPECT_EQ(*json_time(json("2023-11-14T23:13:20.250+01:00")), t);
  EXPECT_EQ(*json_time(json("2023-11-14T20:13:20.250-02:00")), t);
  EXPECT_EQ(*json_time(json("Tue, 14 Nov 2023 22:13:20 GMT")),
            sys::from_unix_ms(1'700'000'000'000));
  EXPECT_EQ(json_time(json("yesterday")).error().code, Errc::invalid);
  EXPECT_EQ(json_time(json(true)).error().code, Errc::invalid);
}

TEST(JsonProtocolTest, Base64) {
  EXPECT_EQ(json_blob("binary-value"), "YmluYXJ5LXZhbHVl");
  EXPECT_EQ(*decode_base64("YmluYXJ5LXZhbHVl"), "binary-value");
  EXPECT_EQ(*decode_base64("Zm9v"), "foo");
  EXPECT_EQ(*decode_base64("Zm8="), "fo");
  EXPECT_EQ(*decode_base64("Zm8"), "fo");
  EXPECT_EQ(*decode_base64(""), "");
  EXPECT_FALSE(decode_base64("Zm9v!").ok());
  EXPECT_FALSE(decode_base64("Z").ok());
  EXPECT_FALSE(decode_base64("Zm=9").ok());
  EXPECT_FALSE(decode_base64("Zg===").ok());
}

TEST(JsonProtocolTest, HeadersNameTheTarget) {
  auto h = json_headers("1.0", "GraniteServiceVersion20100801", "GetMetricData");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0],
            (std::pair<std::string, std::string>{"Content-Type", "application/x-amz-json-1.0"}));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{
                      "X-Amz-Target", "GraniteServiceVersion20100801.GetMetricData"}));
}

}  // namespace
}  // namespace ztp::aws
