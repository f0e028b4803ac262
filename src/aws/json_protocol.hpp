#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/aws_error.hpp"
#include "sys/http.hpp"
#include "sys/time.hpp"
#include "util/result.hpp"

// The awsJson1_0 and awsJson1_1 protocols (ECS, ECR, CloudWatch Logs, Application Auto
// Scaling, CloudWatch): every call is POST / with Content-Type application/x-amz-json-1.X,
// X-Amz-Target "<targetPrefix>.<Operation>" and the input as a JSON object; the answer is a
// JSON object, an error a JSON object naming its type.
//
// Callers build the input in its wire form, member names as the model spells them: numbers,
// strings, booleans, lists, maps and structures as JSON; timestamps as epoch seconds
// (json_timestamp), blobs as base64 (json_blob). Answers come back as the service sent them,
// minus members whose value is null; json_time() and decode_base64() read timestamps and blobs.
// Those two readers also serve the query protocol, which shares them.
namespace ztp::aws {

// "application/x-amz-json-1.0" or "...-1.1" for `json_version` "1.0" or "1.1".
std::string json_content_type(std::string_view json_version);

// The headers of a call: Content-Type and X-Amz-Target "<target_prefix>.<operation>".
std::vector<std::pair<std::string, std::string>> json_headers(std::string_view json_version,
                                                              std::string_view target_prefix,
                                                              std::string_view operation);

// The body of a call: `input` without its null members, as compact JSON; "{}" for a null or
// empty input. invalid when `input` is not an object or holds text that is not UTF-8.
Result<std::string> json_body(const nlohmann::json& input);

// The output of a 2xx answer: its JSON object without null members ({} for an empty body).
// invalid when the body is not a JSON object.
Result<nlohmann::json> parse_json_answer(const sys::HttpResponse& response);

// The error of a non-2xx answer, as the JavaScript SDK names it: the code from the body's
// __type, then (for a query-compatible service) the x-amzn-query-error header's code, then the
// body's `code`, then the X-Amzn-ErrorType header, sanitised; the message from `message` or
// `Message`; the request id from the headers. (The SDK reads a query-compatible service's
// query code first but reports the modelled error it maps to, which is what __type names.) A
// body that is not JSON leaves the code empty and keeps the status.
AwsError json_error(const sys::HttpResponse& response, bool query_compatible = false);

// A timestamp as the JSON protocols send it: epoch seconds, with milliseconds as a fraction
// when there are any (1700000000, 1700000000.25).
nlohmann::json json_timestamp(sys::WallTime time);

// A timestamp of an answer: epoch seconds (a number, or a string of one), ISO 8601 with Z or
// an offset ("2019-12-16T22:48:18-01:00", fractions kept to milliseconds) or an HTTP date.
// invalid otherwise.
Result<sys::WallTime> json_time(const nlohmann::json& value);

// The text forms json_time() accepts, for the query protocol's timestamps.
Result<sys::WallTime> parse_timestamp_text(std::string_view text);

// ISO 8601 in UTC as AWS writes it: "2015-01-25T08:00:00Z", or with milliseconds when there
// are any ("...:00.123Z").
std::string iso8601_timestamp(sys::WallTime time);

// Bytes as a JSON blob: standard base64.
std::string json_blob(std::string_view bytes);

// The bytes of standard base64 text (padding optional, no whitespace); invalid otherwise.
Result<std::string> decode_base64(std::string_view text);

}  // namespace ztp::aws
