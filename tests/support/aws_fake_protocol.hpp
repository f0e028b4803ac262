#pragma once

// What the services of the AWS fake share: the answer of an operation (output or error), the
// deterministic ids and the simulation's time, readers of decoded inputs (a JSON body, or an
// awsQuery form turned into the same nested shape), and the wire forms AWS uses (epoch seconds
// for the JSON protocols, ISO 8601 and XML for awsQuery).
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ztp::testing {

using WallTime = std::chrono::system_clock::time_point;

// An AWS error answer. `code` is what the wire carries (`__type` for JSON, <Code> for query);
// `query_code` is the awsQuery code of a JSON service that is query compatible (CloudWatch
// sends it in x-amzn-query-error), empty elsewhere.
struct AwsError {
  std::string code{};
  std::string message{};
  int status = 400;
  std::string query_code{};
};

// What one operation answers: its output (a JSON object, rendered as the service's protocol
// wants) or an error.
class AwsAnswer {
 public:
  AwsAnswer(nlohmann::json output) : m_output(std::move(output)) {}
  AwsAnswer(AwsError error) : m_error(std::move(error)) {}

  bool ok() const { return !m_error.has_value(); }
  const nlohmann::json& output() const { return m_output; }
  const AwsError& error() const { return *m_error; }

 private:
  nlohmann::json m_output = nlohmann::json::object();
  std::optional<AwsError> m_error;
};

// The account, region and time every service of one fake sees, and the source of its ids.
// Nothing here is random: ids come from a counter, so two runs answer alike.
struct AwsFakeEnv {
  std::string region = "us-east-1";
  std::string account = "123456789012";
  WallTime now{};  // the simulation's time; moved only forward by AwsFake::sync
  // A resource created while this is K > 0 stays missing from the next K Describe* calls that
  // would show it (eventual consistency).
  int consistency_lag = 0;
  std::uint64_t next_id = 1;

  // The next id as `digits` lower-case hex digits (a task id has 32, an ELB id 16).
  std::string hex_id(std::size_t digits);
  // The next id as a UUID-shaped string ("00000000-0000-4000-8000-00000000002a").
  std::string uuid();
  // The next id as `digits` decimal digits.
  std::string decimal_id(std::size_t digits);
};

// The members of `input` among `names` that are absent or null, in `names`' order.
std::vector<std::string> missing_members(const nlohmann::json& input,
                                         const std::vector<std::string>& names);
// The validation message AWS gives for missing members: "1 validation error detected: Value
// null at 'family' failed to satisfy constraint: Member must not be null".
std::string missing_members_message(const std::vector<std::string>& names);

// Readers of one member of a decoded input. Query inputs carry every scalar as a string, so
// numbers and booleans are read from strings too; `fallback` when absent or unreadable.
std::string str(const nlohmann::json& in, const char* key, const std::string& fallback = "");
std::int64_t integer(const nlohmann::json& in, const char* key, std::int64_t fallback = 0);
std::optional<std::int64_t> optional_integer(const nlohmann::json& in, const char* key);
bool boolean(const nlohmann::json& in, const char* key, bool fallback = false);
double number(const nlohmann::json& value, double fallback = 0);
bool has(const nlohmann::json& in, const char* key);
// The member as an array: an empty one when absent, or when a query form sent an empty list
// (`Key=`).
nlohmann::json list(const nlohmann::json& in, const char* key);
// The strings of a list member.
std::vector<std::string> strings(const nlohmann::json& in, const char* key);

// Seconds since the epoch with milliseconds, as the JSON protocols write timestamps.
double epoch_seconds(WallTime t);
// A JSON timestamp (epoch seconds, fractional allowed) as a time.
WallTime from_epoch_seconds(double seconds);
// "2027-01-15T08:00:00.000Z", as awsQuery writes timestamps.
std::string iso8601(WallTime t);

// An application/x-www-form-urlencoded body decoded into nested JSON: "A.member.2.B=x" becomes
// {"A": [null, {"B": "x"}]} (1-based members), values are strings.
nlohmann::json decode_query_form(std::string_view body);

// The awsQuery answer of `action`: <ActionResponse xmlns=...><ActionResult>...</ActionResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse>. Objects become elements,
// arrays lists of <member>, booleans "true"/"false".
std::string query_response_xml(const std::string& action, const std::string& xml_namespace,
                               const nlohmann::json& result, const std::string& request_id);
// The awsQuery error document: <ErrorResponse><Error><Type/><Code/><Message/></Error>
// <RequestId/></ErrorResponse>; Type is Sender below 500, Receiver from 500.
std::string query_error_xml(const AwsError& error, const std::string& xml_namespace,
                            const std::string& request_id);

// Standard base64 (with padding).
std::string base64_encode(std::string_view bytes);

// An opaque pagination token for position `offset`, and back (nullopt when not one of ours).
std::string page_token(std::size_t offset);
std::optional<std::size_t> page_offset(const std::string& token);

}  // namespace ztp::testing
