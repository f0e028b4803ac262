#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/aws_error.hpp"
#include "sys/http.hpp"
#include "sys/time.hpp"
#include "util/result.hpp"

namespace pugi {
class xml_document;
struct xml_node_struct;
}  // namespace pugi

// The awsQuery protocol (Elastic Load Balancing v2, STS): every call is POST / with a form body
// "Action=<Action>&Version=<API version>&<params>" (application/x-www-form-urlencoded;
// charset=utf-8, as botocore and the Ruby SDK send it; the JavaScript SDK leaves the charset
// out), and the answer is XML: <ActionResponse><ActionResult>...</ActionResult>
// <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></ActionResponse>, an error
// <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>.
//
// Callers give the params as a JSON tree in the SDKs' input form (the member names of the model,
// which the services ztp calls also use on the wire) and query_form() flattens it by the
// awsQuery rules: a structure's member is "Parent.Member", a list's items "List.member.N"
// (1-based; an empty list is sent as "List="), a map's entries "Map.entry.N.key" and
// "Map.entry.N.value"; booleans are true/false, timestamps ISO 8601 text (iso8601_timestamp()
// of json_protocol.hpp), blobs base64. JSON cannot tell a map from a structure, so the names
// of the members that are maps are given (ServiceApi::query_maps). Flattened lists and renamed
// members (xmlName), which none of these services' inputs use, are not supported.
//
// An error's code is the <Code> the service sent ("TargetGroupNotFound"), as botocore and the
// AWS CLI report it and the services' API references list it; the JavaScript SDK names the
// error by the model's shape for that code instead ("TargetGroupNotFoundException").
//
// Answers are read through XmlNode, a light read-only view of the <ActionResult> element: child
// elements by name, their text, the <member> items of a list, typed readers. There is no
// conversion to JSON: without the model, a list of one item cannot be told from a structure.
namespace ztp::aws {

// "application/x-www-form-urlencoded; charset=utf-8".
std::string query_content_type();

// A form's parameters in the order they are sent, names and values not yet encoded.
using QueryForm = std::vector<std::pair<std::string, std::string>>;

// `params` (an object, or null for none) flattened as described above; members that are null
// are left out. invalid when `params` is not an object, or a member named in `maps` holds
// something other than an object.
Result<QueryForm> query_form(const nlohmann::json& params,
                             std::span<const std::string_view> maps = {});

// The form body: Action and Version first, then `form`, each name and value percent-encoded
// (all but A-Z a-z 0-9 - _ . ~).
std::string query_body(std::string_view action, std::string_view version, const QueryForm& form);

// A read-only view of one element of a parsed XML answer; the answer's document lives as long
// as any view of it. A default-constructed view is empty: its children are empty and its text
// is "". Names are compared without their namespace prefix.
class XmlNode {
 public:
  XmlNode() = default;

  // The root element of `xml`. invalid when it is not well-formed XML.
  static Result<XmlNode> parse(std::string_view xml);

  bool valid() const { return m_node != nullptr; }
  explicit operator bool() const { return valid(); }

  // The element's local name ("" for an empty view).
  std::string_view name() const;
  // The first child element named `name`; an empty view when there is none.
  XmlNode child(std::string_view name) const;
  // Whether a child element named `name` exists (an empty one counts).
  bool has(std::string_view name) const { return child(name).valid(); }
  // The child elements named `name`, in order; all of them when `name` is empty. A flattened
  // list's items.
  std::vector<XmlNode> children(std::string_view name = {}) const;
  // The <member> items of the list element `name` (empty when it is absent or empty).
  std::vector<XmlNode> members(std::string_view name) const;
  // The element's text, entities decoded ("" for <a/> or an empty view).
  std::string text() const;
  // child(name).text().
  std::string text(std::string_view name) const { return child(name).text(); }

  // The text as a number, boolean, timestamp or blob. invalid (naming the element and text)
  // when it is not one: integers in decimal, doubles also as NaN, Infinity and -Infinity,
  // booleans true or false, timestamps as json_time() reads them, blobs in base64.
  Result<std::int64_t> as_int() const;
  Result<double> as_double() const;
  Result<bool> as_bool() const;
  Result<sys::WallTime> as_time() const;
  Result<std::string> as_blob() const;

 private:
  XmlNode(std::shared_ptr<const pugi::xml_document> doc, pugi::xml_node_struct* node)
      : m_doc(std::move(doc)), m_node(node) {}
  Error not_a(std::string_view what) const;

  std::shared_ptr<const pugi::xml_document> m_doc;
  pugi::xml_node_struct* m_node = nullptr;
};

// The <`action`Result> element of a 2xx answer (an empty view for an empty body or an answer
// without one, as an action without output may send). invalid when the body is not XML.
Result<XmlNode> parse_query_answer(std::string_view action, std::string_view body);

// The request id of a 2xx answer: its headers' (request_id_header), else the body's
// ResponseMetadata/RequestId; empty when neither has one.
std::string query_request_id(const sys::HttpResponse& response);

// The error of a non-2xx answer: Code and Message of ErrorResponse/Error (or of
// Response/Errors/Error, as EC2 writes it), the request id of the headers, else of the body;
// an answer without a code is "NotFound" for HTTP 404, as the SDKs read it, and has an empty
// code otherwise.
AwsError query_error(const sys::HttpResponse& response);

}  // namespace ztp::aws
