// ztp's AWS protocols against the official AWS SDK for JavaScript v3 (tests/aws-sdk, pinned by
// its package-lock.json): the operations the ECS target will call (tests/aws-sdk/
// protocol_cases.mjs) are sent by the real clients (capture.mjs) and by ztp's AwsClient to a
// capture server on loopback, which records the requests and answers canned answers. The
// requests must agree (method, path, X-Amz-Target, Content-Type, the parsed body), and so must
// what each side reads from the answers: outputs, errors (the SDK's name, message and request id
// against ztp's code, message and request id) and retries of throttling and 5xx answers. Every
// request body is also checked against the service's botocore model.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "aws/client.hpp"
#include "aws/json_protocol.hpp"
#include "aws/query_protocol.hpp"
#include "support/aws_shapes.hpp"
#include "support/fake_http_server.hpp"
#include "support/support.hpp"
#include "sys/process.hpp"

namespace ztp::aws {
namespace {

using nlohmann::json;
using testing::AwsShapes;
using testing::FakeRequest;
using testing::FakeResponse;

std::filesystem::path sdk_dir() { return testing::source_dir() / "tests" / "aws-sdk"; }

// Runs `node <script>` with `input` on its standard input; its JSON output, or null after a
// failure (which fails the test).
json run_node(const std::string& script, const json& input) {
  testing::TempDir dir;
  testing::write_text(dir / "input.json", input.dump());
  int fd = ::open((dir / "input.json").c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  sys::SpawnOptions spawn;
  spawn.argv = {"node", (sdk_dir() / script).string()};
  spawn.search_path = true;
  spawn.stdin_fd = fd;
  auto ran = sys::run_captured(spawn, std::chrono::minutes(3));
  ::close(fd);
  if (!ran.ok()) {
    ADD_FAILURE() << ran.error().message;
    return nullptr;
  }
  if (!WIFEXITED(ran->wait_status) || WEXITSTATUS(ran->wait_status) != 0) {
    ADD_FAILURE() << script << " failed:\n" << ran->err;
    return nullptr;
  }
  return json::parse(ran->out, nullptr, false);
}

FakeResponse to_response(const json& answer) {
  FakeResponse r;
  r.status = answer.value("status", 200);
  for (const auto& [name, value] : testing::member_or_empty(answer, "headers").items()) {
    r.headers.emplace_back(name, value.get<std::string>());
  }
  r.body = answer.value("body", "");
  return r;
}

// Answers each operation from its script, in order (the last answer repeats), and records the
// requests.
class CaptureServer {
 public:
  // Sets the answers of `operation` and starts it over from the first.
  void script(const std::string& operation, std::vector<FakeResponse> answers) {
    std::lock_guard lock(m_mu);
    m_script[operation] = std::move(answers);
    m_next[operation] = 0;
  }
  std::string endpoint() const { return "http://" + m_server.host(); }
  std::vector<FakeRequest> requests() const { return m_server.requests(); }

 private:
  static std::string operation(const FakeRequest& r) {
    std::string target = r.header("x-amz-target");
    if (!target.empty()) {
      return target.substr(target.find('.') + 1);
    }
    for (const auto& [name, value] : testing::parse_aws_form(r.body)) {
      if (name == "Action") {
        return value;
      }
    }
    return {};
  }

  FakeResponse answer(const FakeRequest& r) {
    std::lock_guard lock(m_mu);
    auto it = m_script.find(operation(r));
    if (it == m_script.end() || it->second.empty()) {
      return FakeResponse{404, {}, "no answer scripted"};
    }
    size_t& next = m_next[it->first];
    return it->second[std::min(next++, it->second.size() - 1)];
  }

  std::mutex m_mu;
  std::map<std::string, std::vector<FakeResponse>> m_script;
  std::map<std::string, size_t> m_next;
  // Last: its connection threads call answer() until it stops.
  testing::FakeHttpServer m_server{[this](const FakeRequest& r) { return answer(r); }};
};

const AwsShapes& model(const std::string& key) {
  static std::map<std::string, AwsShapes> models;
  static std::mutex mu;
  std::lock_guard lock(mu);
  auto it = models.find(key);
  if (it == models.end()) {
    const ServiceApi* api = find_service_api(key);
    std::string folder = key == "autoscaling" ? "application-autoscaling" : key;
    it = models
             .emplace(key, AwsShapes::load(testing::vector_path("aws-models/" + folder + "/" +
                                                                std::string(api->api_version) +
                                                                "/service-2.json")))
             .first;
  }
  return it->second;
}

// A case's input as ztp's caller builds it: {"$date": ISO 8601} as the protocol's timestamp.
json ztp_input(const json& value, bool query) {
  if (value.is_object() && value.size() == 1 && value.contains("$date")) {
    auto at = parse_timestamp_text(value["$date"].get<std::string>());
    EXPECT_TRUE(at.ok());
    return query ? json(iso8601_timestamp(*at)) : json_timestamp(*at);
  }
  if (value.is_structured()) {
    json out = value;
    for (auto& item : out) {
      item = ztp_input(item, query);
    }
    return out;
  }
  return value;
}

// What one side made of one call: the output in the SDKs' plain form, or the error.
struct Outcome {
  json output;  // null after an error
  AwsError error;
};

json epoch_seconds(const json& v) {
  auto at = json_time(v);
  if (!at.ok()) {
    return {{"unparsed", v}};
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(at->time_since_epoch()).count() /
         1000.0;
}

// Sends one case through ztp's AwsClient; `waits` receives the pauses between attempts.
Outcome ztp_call(const std::string& endpoint, const json& c, int max_attempts,
                 std::vector<std::chrono::milliseconds>* waits = nullptr) {
  const ServiceApi* api = find_service_api(c["client"].get<std::string>());
  AwsClientOptions options;
  options.retry.max_attempts = max_attempts;
  options.random = [] { return 0.25; };
  options.wait = [waits](std::chrono::milliseconds d) {
    if (waits != nullptr) {
      waits->push_back(d);
    }
    return true;
  };
  int signatures = 0;
  AwsClient::Signer signer = [&signatures](sys::HttpRequest& req) -> Result<void> {
    req.headers.emplace_back("Authorization", "test-signature-" + std::to_string(++signatures));
    return {};
  };
  AwsClient client(service_description(*api, endpoint), signer, options);
  const std::string command = c["command"];
  const AwsShapes& shapes = model(std::string(api->key));
  Outcome out;
  if (api->protocol == Protocol::query) {
    auto result = client.call_query(command, ztp_input(c["input"], true), &out.error);
    if (result.ok()) {
      out.output = testing::xml_plain(shapes, shapes.output_shape(command), *result,
                                      testing::PlainBlobs::base64);
    }
  } else {
    auto result = client.call_json(command, ztp_input(c["input"], false), &out.error);
    if (result.ok()) {
      out.output = testing::json_plain(shapes, shapes.output_shape(command), *result, epoch_seconds,
                                       [](const json& v) { return v; });
    }
  }
  return out;
}

std::string media_type(const std::string& content_type) {
  return content_type.substr(0, content_type.find(';'));
}

testing::AwsForm sorted_form(const std::string& body) {
  testing::AwsForm form = testing::parse_aws_form(body);
  std::sort(form.begin(), form.end());
  return form;
}

bool is_uuid_v4(const std::string& text) {
  static const std::regex k_uuid(
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  return std::regex_match(text, k_uuid);
}

class AwsProtocolSdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("node", "nodejs");
    if (!std::filesystem::exists(sdk_dir() / "node_modules" / "@aws-sdk" / "client-ecs")) {
      FAIL() << "the AWS SDK for JavaScript is not installed in " << sdk_dir().string()
             << ": run `npm ci --prefix tests/aws-sdk`";
    }
    m_cases = run_node("protocol_cases.mjs", json::object());
    ASSERT_TRUE(m_cases.is_object()) << "protocol_cases.mjs printed no cases";
  }

  // Scripts each case's answers (`key`: "answer" or "answers") on a fresh server.
  void script(const json& cases, const char* key) {
    for (const auto& c : cases) {
      std::vector<FakeResponse> answers;
      if (c[key].is_array()) {
        for (const auto& a : c[key]) {
          answers.push_back(to_response(a));
        }
      } else {
        answers.push_back(to_response(c[key]));
      }
      m_server.script(c["command"], answers);
    }
  }

  // The SDK's results for `cases`, one per case.
  json sdk_results(const json& cases, int max_attempts) {
    json doc = {{"endpoint", m_server.endpoint()},
                {"region", "us-east-1"},
                {"credentials",
                 {{"accessKeyId", "AKIDEXAMPLE"},
                  {"secretAccessKey", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}}},
                {"maxAttempts", max_attempts},
                {"calls", cases}};
    json out = run_node("capture.mjs", doc);
    EXPECT_TRUE(out.is_object() && out["results"].size() == cases.size());
    return out.is_object() ? out["results"] : json::array();
  }

  // The recorded requests whose User-Agent contains `who`, in order.
  std::vector<FakeRequest> requests_of(const std::string& who) const {
    std::vector<FakeRequest> out;
    for (const auto& r : m_server.requests()) {
      if (r.header("user-agent").find(who) != std::string::npos) {
        out.push_back(r);
      }
    }
    return out;
  }

  json m_cases;
  CaptureServer m_server;
};

TEST_F(AwsProtocolSdkTest, RequestsMatchTheSdk) {
  const json& calls = m_cases["calls"];
  script(calls, "answer");
  json sdk = sdk_results(calls, 1);
  script(calls, "answer");
  for (const auto& c : calls) {
    ztp_call(m_server.endpoint(), c, 1);
  }
  auto theirs = requests_of("aws-sdk-js");
  auto ours = requests_of("zerotouch");
  ASSERT_EQ(theirs.size(), calls.size());
  ASSERT_EQ(ours.size(), calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::string key = calls[i]["client"];
    const std::string command = calls[i]["command"];
    SCOPED_TRACE(key + " " + command);
    const FakeRequest& a = theirs[i];
    const FakeRequest& b = ours[i];
    EXPECT_EQ(b.method, a.method);
    EXPECT_EQ(b.path, a.path);
    EXPECT_EQ(b.header("x-amz-target"), a.header("x-amz-target"));
    EXPECT_EQ(b.header("x-amzn-query-mode"), a.header("x-amzn-query-mode"));
    EXPECT_EQ(b.header("amz-sdk-request"), a.header("amz-sdk-request"));
    EXPECT_TRUE(is_uuid_v4(a.header("amz-sdk-invocation-id")));
    EXPECT_TRUE(is_uuid_v4(b.header("amz-sdk-invocation-id")));
    EXPECT_EQ(b.header("authorization"), "test-signature-1");
    const AwsShapes& shapes = model(key);
    if (find_service_api(key)->protocol == Protocol::query) {
      // ztp adds "; charset=utf-8", which the JavaScript SDK leaves out (query_protocol.hpp).
      EXPECT_EQ(media_type(b.header("content-type")), a.header("content-type"));
      EXPECT_EQ(b.header("content-type"), query_content_type());
      EXPECT_EQ(sorted_form(b.body), sorted_form(a.body));
      for (const auto* r : {&a, &b}) {
        auto problems = shapes.check_query_input(command, testing::parse_aws_form(r->body));
        EXPECT_TRUE(problems.empty()) << problems.front();
      }
    } else {
      EXPECT_EQ(b.header("content-type"), a.header("content-type"));
      json theirs_body = json::parse(a.body, nullptr, false);
      json ours_body = json::parse(b.body, nullptr, false);
      EXPECT_EQ(ours_body, theirs_body);
      for (const json* body : {&theirs_body, &ours_body}) {
        auto problems = shapes.check_json_input(command, *body);
        EXPECT_TRUE(problems.empty()) << problems.front();
      }
    }
    EXPECT_TRUE(sdk[i].contains("output")) << sdk[i].dump();
  }
}

TEST_F(AwsProtocolSdkTest, OutputsMatchTheSdk) {
  const json& calls = m_cases["calls"];
  script(calls, "answer");
  json sdk = sdk_results(calls, 1);
  script(calls, "answer");
  ASSERT_EQ(sdk.size(), calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    SCOPED_TRACE(calls[i]["client"].get<std::string>() + " " +
                 calls[i]["command"].get<std::string>());
    Outcome ours = ztp_call(m_server.endpoint(), calls[i], 1);
    ASSERT_TRUE(sdk[i].contains("output")) << sdk[i].dump();
    ASSERT_FALSE(ours.output.is_null()) << describe(ours.error);
    EXPECT_EQ(ours.output, sdk[i]["output"]);
    EXPECT_GT(ours.output.size(), 0u);
  }
}

TEST_F(AwsProtocolSdkTest, ErrorsMatchTheSdk) {
  const json& errors = m_cases["errors"];
  script(errors, "answer");
  json sdk = sdk_results(errors, 1);
  script(errors, "answer");
  ASSERT_EQ(sdk.size(), errors.size());
  for (size_t i = 0; i < errors.size(); ++i) {
    const std::string key = errors[i]["client"];
    const std::string command = errors[i]["command"];
    SCOPED_TRACE(key + " " + command);
    Outcome ours = ztp_call(m_server.endpoint(), errors[i], 1);
    ASSERT_TRUE(sdk[i].contains("error")) << sdk[i].dump();
    const json& theirs = sdk[i]["error"];
    ASSERT_TRUE(ours.output.is_null());
    // ztp keeps an awsQuery error's <Code> (as botocore and the CLI do), which the SDK names by
    // the model's error shape for that code.
    bool query = find_service_api(key)->protocol == Protocol::query;
    EXPECT_EQ(query ? model(key).error_shape(ours.error.code) : ours.error.code, theirs["name"]);
    EXPECT_EQ(ours.error.message, theirs["message"]);
    EXPECT_EQ(ours.error.status, theirs["status"]);
    // The SDK reads the request id from the headers only; ztp falls back on the body's
    // <RequestId>, which query services always send.
    std::string header_id = errors[i]["answer"]["headers"].value("x-amzn-RequestId", "");
    EXPECT_EQ(theirs["requestId"].is_null() ? "" : theirs["requestId"].get<std::string>(),
              header_id);
    EXPECT_FALSE(ours.error.request_id.empty());
    if (!header_id.empty()) {
      EXPECT_EQ(ours.error.request_id, header_id);
    }
    std::string text = describe(ours.error);
    EXPECT_EQ(text.rfind(ours.error.service + " " + command + ": " + ours.error.code + ": ", 0), 0u)
        << text;
    EXPECT_NE(text.find("request id " + ours.error.request_id), std::string::npos) << text;
  }
}

TEST_F(AwsProtocolSdkTest, RetriesMatchTheSdk) {
  const json& retries = m_cases["retries"];
  script(retries, "answers");
  json sdk = sdk_results(retries, 3);
  auto theirs = requests_of("aws-sdk-js");
  script(retries, "answers");
  ASSERT_EQ(sdk.size(), retries.size());
  size_t mine_before = 0;
  for (size_t i = 0; i < retries.size(); ++i) {
    SCOPED_TRACE(retries[i]["command"].get<std::string>());
    std::vector<std::chrono::milliseconds> waits;
    Outcome ours = ztp_call(m_server.endpoint(), retries[i], 3, &waits);
    auto mine = requests_of("zerotouch");
    ASSERT_EQ(mine.size(), mine_before + 2);
    ASSERT_TRUE(sdk[i].contains("output")) << sdk[i].dump();
    EXPECT_EQ(sdk[i]["attempts"], 2);
    EXPECT_EQ(ours.output, sdk[i]["output"]);
    EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(250)}));
    for (const auto* side : {&theirs, &mine}) {
      const FakeRequest& first = (*side)[side == &theirs ? 2 * i : mine_before];
      const FakeRequest& second = (*side)[side == &theirs ? 2 * i + 1 : mine_before + 1];
      EXPECT_EQ(first.header("amz-sdk-request"), "attempt=1; max=3");
      EXPECT_EQ(second.header("amz-sdk-request"), "attempt=2; max=3");
      EXPECT_EQ(first.header("amz-sdk-invocation-id"), second.header("amz-sdk-invocation-id"));
    }
    // ztp signed each attempt afresh.
    EXPECT_EQ(mine[mine_before].header("authorization"), "test-signature-1");
    EXPECT_EQ(mine[mine_before + 1].header("authorization"), "test-signature-2");
    mine_before = mine.size();
  }
  ASSERT_EQ(theirs.size(), 2 * retries.size());
}

}  // namespace
}  // namespace ztp::aws
