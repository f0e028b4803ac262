#pragma once

// A checker of AWS requests against the botocore models (service-2.json, or a protocol-test
// suite's shapes): a JSON body or an awsQuery form must fit its operation's input shape:
// required members present, no unknown members, each value of its shape's type (structure,
// union, list, map, string, integer/long, boolean, double/float, timestamp, blob, document),
// enums and min/max lengths, counts and values kept. Also: an answer's XML read through a view
// of it, by the output shape, into the plain JSON the SDKs give (xml_plain below).
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ztp::testing {

using AwsForm = std::vector<std::pair<std::string, std::string>>;

// An awsQuery form body decoded into its pairs, in order ('+' is a space).
AwsForm parse_aws_form(std::string_view body);

class AwsShapes {
 public:
  // How values travel: JSON bodies (timestamps as epoch seconds) or awsQuery forms (every value
  // text, timestamps ISO 8601).
  enum class Wire { json, query };

  AwsShapes() = default;
  // A whole model ({"metadata", "operations", "shapes"}) or only {"shapes"}.
  explicit AwsShapes(nlohmann::json model) : m_model(std::move(model)) {}
  // Reads service-2.json at `path`; a file that cannot be read fails the calling test and
  // gives an empty model.
  static AwsShapes load(const std::filesystem::path& path);

  const nlohmann::json& metadata() const;
  // The shape named `name`; null when the model has none.
  const nlohmann::json& shape(const std::string& name) const;
  // The input or output shape of `operation`; "" when it has none (or does not exist).
  std::string input_shape(const std::string& operation) const;
  std::string output_shape(const std::string& operation) const;

  // The error shape whose awsQuery code (its "error": {"code"}) is `code`, as the JavaScript
  // SDK names an awsQuery error (TargetGroupNotFound is TargetGroupNotFoundException); `code`
  // itself when no shape has it.
  std::string error_shape(const std::string& code) const;

  // What is wrong with `value` as shape `shape_name`, one line each ("containerDefinitions[0].
  // memory: -1 is below the minimum 0"); empty when it fits.
  std::vector<std::string> check(const std::string& shape_name, const nlohmann::json& value,
                                 Wire wire) const;
  // check() of a JSON body against `operation`'s input ({} when it has no input shape).
  std::vector<std::string> check_json_input(const std::string& operation,
                                            const nlohmann::json& body) const;
  // The same for an awsQuery form (decoded pairs, Action and Version included or not): the
  // form is first read back into a tree by the awsQuery rules; names that do not fit count as
  // problems.
  std::vector<std::string> check_query_input(const std::string& operation,
                                             const AwsForm& form) const;
  // The tree of a form as the shape `shape_name` reads it (lists as arrays, maps as objects,
  // scalars typed), adding to `problems` what does not fit.
  nlohmann::json query_tree(const std::string& shape_name, const AwsForm& form,
                            std::vector<std::string>& problems) const;

 private:
  void check_value(const nlohmann::json& shape, const nlohmann::json& value, Wire wire,
                   const std::string& path, std::vector<std::string>& problems) const;
  void check_structure(const nlohmann::json& shape, const nlohmann::json& value, Wire wire,
                       const std::string& path, std::vector<std::string>& problems) const;

  nlohmann::json m_model = nlohmann::json::object();
};

// A JSON answer's value read as shape `shape_name`, in the SDKs' plain JSON: members the shape
// does not have are dropped, timestamps and blobs go through `timestamp` and `blob` (the
// caller's readers, e.g. to epoch seconds and decoded bytes), everything else is kept.
using PlainReader = std::function<nlohmann::json(const nlohmann::json&)>;
nlohmann::json json_plain(const AwsShapes& shapes, const std::string& shape_name,
                          const nlohmann::json& value, const PlainReader& timestamp,
                          const PlainReader& blob);

// `value[key]`, or an empty object when there is no such member: safe to iterate, unlike the
// temporary that json::value() returns.
inline const nlohmann::json& member_or_empty(const nlohmann::json& value, const std::string& key) {
  static const nlohmann::json k_empty = nlohmann::json::object();
  auto it = value.find(key);
  return it == value.end() ? k_empty : *it;
}

// How xml_plain writes blobs: decoded (botocore's protocol tests) or as base64 (the SDK output
// that capture.mjs prints).
enum class PlainBlobs { decoded, base64 };

// The member of `node` (a view with child/children/text/as_int/as_double/as_bool/as_time/
// as_blob, such as ztp's XmlNode) named by `member`'s locationName or `name`.
template <typename Node>
std::vector<Node> xml_member_nodes(const nlohmann::json& member, const std::string& name,
                                   const Node& node, bool flattened) {
  std::string wire = member.value("locationName", name);
  if (flattened) {
    return node.children(wire);
  }
  auto one = node.child(wire);
  return one.valid() ? std::vector<Node>{one} : std::vector<Node>{};
}

// The items of list or map shape `shape` (list items, or map entries with their key and value
// children), in plain JSON.
template <typename Node>
nlohmann::json xml_plain(const AwsShapes& shapes, const std::string& shape_name, const Node& node,
                         PlainBlobs blobs);

template <typename Node>
nlohmann::json xml_plain_items(const AwsShapes& shapes, const nlohmann::json& shape,
                               const std::vector<Node>& items, PlainBlobs blobs) {
  if (shape.value("type", "") == "map") {
    std::string key_name = shape["key"].value("locationName", "key");
    std::string value_name = shape["value"].value("locationName", "value");
    nlohmann::json out = nlohmann::json::object();
    for (const auto& entry : items) {
      out[entry.child(key_name).text()] =
          xml_plain(shapes, shape["value"]["shape"], entry.child(value_name), blobs);
    }
    return out;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) {
    out.push_back(xml_plain(shapes, shape["member"]["shape"], item, blobs));
  }
  return out;
}

// The value of `node` read as shape `shape_name`, in the SDKs' plain JSON: timestamps as epoch
// seconds, numbers and booleans typed, NaN and infinities as "NaN"/"Infinity"/"-Infinity",
// lists as arrays, maps as objects. A value that does not parse is written as
// {"unparsed": text} so a comparison shows it.
template <typename Node>
nlohmann::json xml_plain(const AwsShapes& shapes, const std::string& shape_name, const Node& node,
                         PlainBlobs blobs) {
  using nlohmann::json;
  const json& shape = shapes.shape(shape_name);
  std::string type = shape.value("type", "");
  auto unparsed = [&] { return json{{"unparsed", node.text()}}; };
  if (type == "structure") {
    json out = json::object();
    for (const auto& [name, member] : member_or_empty(shape, "members").items()) {
      const json& target = shapes.shape(member["shape"]);
      bool flat = member.value("flattened", false) || target.value("flattened", false);
      auto nodes = xml_member_nodes(member, name, node, flat);
      if (nodes.empty()) {
        continue;
      }
      out[name] = flat ? xml_plain_items(shapes, target, nodes, blobs)
                       : xml_plain(shapes, member["shape"], nodes.front(), blobs);
    }
    return out;
  }
  if (type == "list") {
    std::string item = shape["member"].value("locationName", "member");
    return xml_plain_items(shapes, shape, node.children(item), blobs);
  }
  if (type == "map") {
    return xml_plain_items(shapes, shape, node.children("entry"), blobs);
  }
  if (type == "boolean") {
    auto v = node.as_bool();
    return v.ok() ? json(*v) : unparsed();
  }
  if (type == "integer" || type == "long" || type == "short" || type == "byte") {
    auto v = node.as_int();
    return v.ok() ? json(*v) : unparsed();
  }
  if (type == "double" || type == "float") {
    auto v = node.as_double();
    if (!v.ok()) {
      return unparsed();
    }
    if (std::isnan(*v)) {
      return "NaN";
    }
    if (std::isinf(*v)) {
      return *v > 0 ? "Infinity" : "-Infinity";
    }
    return *v;
  }
  if (type == "timestamp") {
    auto v = node.as_time();
    if (!v.ok()) {
      return unparsed();
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(v->time_since_epoch());
    return ms.count() % 1000 == 0 ? json(ms.count() / 1000) : json(ms.count() / 1000.0);
  }
  if (type == "blob" && blobs == PlainBlobs::decoded) {
    auto v = node.as_blob();
    return v.ok() ? json(*v) : unparsed();
  }
  return node.text();
}

}  // namespace ztp::testing
