#include "aws/query_protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <pugixml.hpp>

#include "aws/json_protocol.hpp"
#include "util/text.hpp"

namespace ztp::aws {
namespace {

using nlohmann::json;

std::string_view local_name(const char* name) {
  std::string_view n(name);
  size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

std::string form_escape(std::string_view text) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += k_hex[u >> 4];
      out += k_hex[u & 0x0F];
    }
  }
  return out;
}

std::string scalar_text(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_boolean()) {
    return value.get<bool>() ? "true" : "false";
  }
  if (value.is_number_integer()) {
    return value.dump();
  }
  double d = value.get<double>();
  if (std::isnan(d)) {
    return "NaN";
  }
  if (std::isinf(d)) {
    return d > 0 ? "Infinity" : "-Infinity";
  }
  return fmt::format("{}", d);
}

class Flattener {
 public:
  Flattener(std::span<const std::string_view> maps, QueryForm& form) : m_maps(maps), m_form(form) {}

  Result<void> value(const std::string& name, std::string_view member, const json& v) {
    if (v.is_null()) {
      return {};
    }
    if (std::find(m_maps.begin(), m_maps.end(), member) != m_maps.end()) {
      return map(name, v);
    }
    if (v.is_object()) {
      for (const auto& [key, item] : v.items()) {
        ZTP_TRY(value(name + "." + key, key, item));
      }
      return {};
    }
    if (v.is_array()) {
      if (v.empty()) {
        m_form.emplace_back(name, "");
      }
      for (size_t i = 0; i < v.size(); ++i) {
        ZTP_TRY(value(fmt::format("{}.member.{}", name, i + 1), "member", v[i]));
      }
      return {};
    }
    m_form.emplace_back(name, scalar_text(v));
    return {};
  }

 private:
  Result<void> map(const std::string& name, const json& v) {
    if (!v.is_object()) {
      return make_error(Errc::invalid,
                        fmt::format("the query parameter {} is a map and must be a JSON object, "
                                    "not {}",
                                    name, v.type_name()));
    }
    size_t n = 0;
    for (const auto& [key, item] : v.items()) {
      std::string entry = fmt::format("{}.entry.{}", name, ++n);
      m_form.emplace_back(entry + ".key", key);
      ZTP_TRY(value(entry + ".value", "value", item));
    }
    return {};
  }

  std::span<const std::string_view> m_maps;
  QueryForm& m_form;
};

pugi::xml_node as_pugi(pugi::xml_node_struct* node) { return pugi::xml_node(node); }

}  // namespace

std::string query_content_type() { return "application/x-www-form-urlencoded; charset=utf-8"; }

Result<QueryForm> query_form(const json& params, std::span<const std::string_view> maps) {
  QueryForm form;
  if (params.is_null()) {
    return form;
  }
  if (!params.is_object()) {
    return make_error(Errc::invalid, fmt::format("the params of a query call must be an object, "
                                                 "not {}",
                                                 params.type_name()));
  }
  Flattener flattener(maps, form);
  for (const auto& [key, item] : params.items()) {
    ZTP_TRY(flattener.value(key, key, item));
  }
  return form;
}

std::string query_body(std::string_view action, std::string_view version, const QueryForm& form) {
  std::string body = fmt::format("Action={}&Version={}", form_escape(action), form_escape(version));
  for (const auto& [name, value] : form) {
    body += '&';
    body += form_escape(name);
    body += '=';
    body += form_escape(value);
  }
  return body;
}

Result<XmlNode> XmlNode::parse(std::string_view xml) {
  auto doc = std::make_shared<pugi::xml_document>();
  pugi::xml_parse_result parsed = doc->load_buffer(xml.data(), xml.size());
  if (!parsed) {
    return make_error(Errc::invalid,
                      fmt::format("the answer is not XML ({} at offset {}): {}",
                                  parsed.description(), parsed.offset, xml.substr(0, 200)));
  }
  pugi::xml_node root = doc->document_element();
  return XmlNode(std::move(doc), root.internal_object());
}

std::string_view XmlNode::name() const {
  return m_node ? local_name(as_pugi(m_node).name()) : std::string_view();
}

XmlNode XmlNode::child(std::string_view name) const {
  if (m_node) {
    for (pugi::xml_node c : as_pugi(m_node).children()) {
      if (c.type() == pugi::node_element && local_name(c.name()) == name) {
        return XmlNode(m_doc, c.internal_object());
      }
    }
  }
  return {};
}

std::vector<XmlNode> XmlNode::children(std::string_view name) const {
  std::vector<XmlNode> out;
  if (m_node) {
    for (pugi::xml_node c : as_pugi(m_node).children()) {
      if (c.type() == pugi::node_element && (name.empty() || local_name(c.name()) == name)) {
        out.push_back(XmlNode(m_doc, c.internal_object()));
      }
    }
  }
  return out;
}

std::vector<XmlNode> XmlNode::members(std::string_view name) const {
  return child(name).children("member");
}

std::string XmlNode::text() const {
  std::string out;
  if (m_node) {
    for (pugi::xml_node c : as_pugi(m_node).children()) {
      if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
        out += c.value();
      }
    }
  }
  return out;
}

Error XmlNode::not_a(std::string_view what) const {
  return make_error(Errc::invalid, fmt::format("the answer's <{}> holds '{}', not {}",
                                               name().empty() ? "?" : name(), text(), what));
}

Result<std::int64_t> XmlNode::as_int() const {
  std::string t(text::trim(text()));
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
    return not_a("an integer");
  }
  return v;
}

Result<double> XmlNode::as_double() const {
  std::string t(text::trim(text()));
  if (t == "NaN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (t == "Infinity" || t == "-Infinity") {
    return t[0] == '-' ? -std::numeric_limits<double>::infinity()
                       : std::numeric_limits<double>::infinity();
  }
  double v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
    return not_a("a number");
  }
  return v;
}

Result<bool> XmlNode::as_bool() const {
  std::string t(text::trim(text()));
  if (t == "true" || t == "false") {
    return t == "true";
  }
  return not_a("true or false");
}

Result<sys::WallTime> XmlNode::as_time() const {
  auto at = parse_timestamp_text(text());
  if (!at.ok()) {
    return not_a("a timestamp");
  }
  return at;
}

Result<std::string> XmlNode::as_blob() const {
  auto bytes = decode_base64(text::trim(text()));
  if (!bytes.ok()) {
    return not_a("base64");
  }
  return bytes;
}

Result<XmlNode> parse_query_answer(std::string_view action, std::string_view body) {
  if (text::trim(body).empty()) {
    return XmlNode();
  }
  ZTP_ASSIGN_OR_RETURN(XmlNode root, XmlNode::parse(body));
  return root.child(fmt::format("{}Result", action));
}

std::string query_request_id(const sys::HttpResponse& response) {
  std::string id = request_id_header(response.headers);
  if (!id.empty() || text::trim(response.body).empty()) {
    return id;
  }
  auto root = XmlNode::parse(response.body);
  if (!root.ok()) {
    return {};
  }
  std::string body_id = root->child("ResponseMetadata").text("RequestId");
  return std::string(text::trim(body_id));
}

AwsError query_error(const sys::HttpResponse& response) {
  AwsError error;
  error.status = response.status;
  error.request_id = request_id_header(response.headers);
  auto root = XmlNode::parse(response.body);
  if (root.ok()) {
    XmlNode detail = root->child("Error");
    if (!detail) {
      detail = root->child("Errors").child("Error");
    }
    if (!detail && root->name() == "Error") {
      detail = *root;
    }
    error.code = sanitize_error_code(detail.text("Code"));
    error.message = detail.has("Message") ? detail.text("Message") : detail.text("message");
    if (error.request_id.empty()) {
      std::string id = root->has("RequestId") ? root->text("RequestId") : root->text("RequestID");
      error.request_id = std::string(text::trim(id));
    }
  }
  if (error.code.empty() && response.status == 404) {
    error.code = "NotFound";
  }
  return error;
}

}  // namespace ztp::aws
