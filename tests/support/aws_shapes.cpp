#include "support/aws_shapes.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

#include "support/fake_http_server.hpp"

namespace ztp::testing {
namespace {

using nlohmann::json;

const json& null_json() {
  static const json k_null;
  return k_null;
}

std::string show(const json& value) {
  std::string text = value.dump();
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

// Code points of UTF-8 text, as the models count lengths.
size_t code_points(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool is_base64(const std::string& s) {
  if (s.size() % 4 != 0) {
    return false;
  }
  size_t pad = s.size() - std::min(s.size(), s.find_last_not_of('=') + 1);
  if (pad > 2) {
    return false;
  }
  return std::all_of(s.begin(), s.end() - static_cast<long>(pad), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
  });
}

bool is_special_double(const json& v) {
  return v.is_string() && (v == "NaN" || v == "Infinity" || v == "-Infinity");
}

bool is_iso8601(const std::string& s) {
  // 2015-01-25T08:00:00Z, with an optional fraction and Z or an offset.
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return false;
  }
  return s.back() == 'Z' || s[s.size() - 6] == '+' || s[s.size() - 6] == '-';
}

void check_range(const json& shape, double value, const std::string& what, const std::string& path,
                 std::vector<std::string>& problems) {
  if (shape.contains("min") && value < shape["min"].get<double>()) {
    problems.push_back(
        fmt::format("{}: {} {} is below the minimum {}", path, what, value, shape["min"].dump()));
  }
  if (shape.contains("max") && value > shape["max"].get<double>()) {
    problems.push_back(
        fmt::format("{}: {} {} is above the maximum {}", path, what, value, shape["max"].dump()));
  }
}

// A scalar of a form typed by its shape.
json typed_text(const json& shape, const std::string& text) {
  std::string type = shape.value("type", "");
  if (type == "boolean") {
    return text == "true" ? json(true) : text == "false" ? json(false) : json(text);
  }
  if (type == "integer" || type == "long") {
    long long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    return ec == std::errc() && end == text.data() + text.size() ? json(v) : json(text);
  }
  if (type == "double" || type == "float") {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    return ec == std::errc() && end == text.data() + text.size() ? json(v) : json(text);
  }
  return text;
}

// Lists and maps of a form are first gathered by their 1-based index; this turns them into
// arrays and objects.
json finish_tree(const AwsShapes& shapes, const json& shape, json node, const std::string& path,
                 std::vector<std::string>& problems) {
  std::string type = shape.value("type", "");
  if (type == "structure" && node.is_object()) {
    for (auto& [name, member] : node.items()) {
      member = finish_tree(shapes, shapes.shape(shape["members"][name]["shape"]), member,
                           path + "." + name, problems);
    }
  } else if ((type == "list" || type == "map") && node.is_object()) {
    std::map<int, json> items;
    for (auto& [index, item] : node.items()) {
      items[std::stoi(index)] = item;
    }
    int expected = 1;
    json out = type == "list" ? json::array() : json::object();
    for (auto& [index, item] : items) {
      if (index != expected++) {
        problems.push_back(fmt::format("{}: items are not numbered 1, 2, ... ({})", path, index));
      }
      if (type == "list") {
        out.push_back(finish_tree(shapes, shapes.shape(shape["member"]["shape"]), item,
                                  fmt::format("{}[{}]", path, index), problems));
      } else if (!item.contains("key") || !item["key"].is_string()) {
        problems.push_back(fmt::format("{}: entry {} has no key", path, index));
      } else {
        out[item["key"].get<std::string>()] =
            finish_tree(shapes, shapes.shape(shape["value"]["shape"]), item.value("value", json()),
                        fmt::format("{}[{}]", path, item["key"].dump()), problems);
      }
    }
    return out;
  }
  return node;
}

}  // namespace

AwsForm parse_aws_form(std::string_view body) {
  AwsForm form;
  while (!body.empty()) {
    std::string_view pair = body.substr(0, body.find('&'));
    size_t eq = pair.find('=');
    form.emplace_back(percent_decode(pair.substr(0, eq)),
                      eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1)));
    body.remove_prefix(std::min(body.size(), pair.size() + 1));
  }
  return form;
}

AwsShapes AwsShapes::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  json model = json::parse(text.str(), nullptr, false);
  if (!in || model.is_discarded() || !model.contains("shapes")) {
    ADD_FAILURE() << "cannot read the model " << path.string();
    return AwsShapes();
  }
  return AwsShapes(std::move(model));
}

const json& AwsShapes::metadata() const {
  return m_model.contains("metadata") ? m_model["metadata"] : null_json();
}

const json& AwsShapes::shape(const std::string& name) const {
  if (!m_model.contains("shapes") || !m_model["shapes"].contains(name)) {
    return null_json();
  }
  return m_model["shapes"][name];
}

std::string AwsShapes::input_shape(const std::string& operation) const {
  json op = m_model.value("operations", json::object()).value(operation, json::object());
  return op.contains("input") ? op["input"]["shape"].get<std::string>() : std::string();
}

std::string AwsShapes::output_shape(const std::string& operation) const {
  json op = m_model.value("operations", json::object()).value(operation, json::object());
  return op.contains("output") ? op["output"]["shape"].get<std::string>() : std::string();
}

std::string AwsShapes::error_shape(const std::string& code) const {
  for (const auto& [name, shape] : member_or_empty(m_model, "shapes").items()) {
    if (shape.value("exception", false) &&
        member_or_empty(shape, "error").value("code", std::string()) == code) {
      return name;
    }
  }
  return code;
}

std::vector<std::string> AwsShapes::check(const std::string& shape_name, const json& value,
                                          Wire wire) const {
  std::vector<std::string> problems;
  if (shape(shape_name).is_null()) {
    problems.push_back("the model has no shape " + shape_name);
    return problems;
  }
  check_value(shape(shape_name), value, wire, shape_name, problems);
  return problems;
}

std::vector<std::string> AwsShapes::check_json_input(const std::string& operation,
                                                     const json& body) const {
  if (!m_model.contains("operations") || !m_model["operations"].contains(operation)) {
    return {"the model has no operation " + operation};
  }
  std::string input = input_shape(operation);
  if (input.empty()) {
    return body == json::object() ? std::vector<std::string>{}
                                  : std::vector<std::string>{operation + " takes no input"};
  }
  return check(input, body, Wire::json);
}

std::vector<std::string> AwsShapes::check_query_input(const std::string& operation,
                                                      const AwsForm& form) const {
  if (!m_model.contains("operations") || !m_model["operations"].contains(operation)) {
    return {"the model has no operation " + operation};
  }
  std::vector<std::string> problems;
  AwsForm params;
  for (const auto& [name, value] : form) {
    if (name == "Action" && value != operation) {
      problems.push_back(fmt::format("Action is {}, not {}", value, operation));
    } else if (name == "Version" && value != metadata().value("apiVersion", "")) {
      problems.push_back(fmt::format("Version is {}, not the model's", value));
    } else if (name != "Action" && name != "Version") {
      params.emplace_back(name, value);
    }
  }
  std::string input = input_shape(operation);
  if (input.empty()) {
    if (!params.empty()) {
      problems.push_back(operation + " takes no input");
    }
    return problems;
  }
  json tree = query_tree(input, params, problems);
  auto more = check(input, tree, Wire::query);
  problems.insert(problems.end(), more.begin(), more.end());
  return problems;
}

json AwsShapes::query_tree(const std::string& shape_name, const AwsForm& form,
                           std::vector<std::string>& problems) const {
  json tree = json::object();
  for (const auto& [name, value] : form) {
    std::vector<std::string> parts;
    std::stringstream in(name);
    for (std::string part; std::getline(in, part, '.');) {
      parts.push_back(part);
    }
    json* node = &tree;
    const json* shape_now = &shape(shape_name);
    bool fits = true;
    for (size_t i = 0; i < parts.size() && fits; ++i) {
      std::string type = shape_now->value("type", "");
      if (type == "structure") {
        std::string member_name;
        for (const auto& [key, member] : member_or_empty(*shape_now, "members").items()) {
          if (member.value("locationName", key) == parts[i]) {
            member_name = key;
          }
        }
        if (member_name.empty()) {
          fits = false;
          break;
        }
        shape_now = &shape((*shape_now)["members"][member_name]["shape"]);
        node = &(*node)[member_name];
      } else if (type == "list" || type == "map") {
        std::string step =
            type == "list" ? (*shape_now)["member"].value("locationName", "member") : "entry";
        if (parts[i] != step || i + 1 >= parts.size() ||
            parts[i + 1].find_first_not_of("0123456789") != std::string::npos) {
          fits = false;
          break;
        }
        node = &(*node)[parts[++i]];
        if (type == "list") {
          shape_now = &shape((*shape_now)["member"]["shape"]);
        } else if (i + 1 < parts.size() && (parts[i + 1] == "key" || parts[i + 1] == "value")) {
          shape_now = &shape((*shape_now)[parts[i + 1]]["shape"]);
          node = &(*node)[parts[++i]];
        } else {
          fits = false;
        }
      } else {
        fits = false;
      }
    }
    std::string type = shape_now->value("type", "");
    if (!fits) {
      problems.push_back(fmt::format("{}: the name does not fit the shape {}", name, shape_name));
    } else if (type == "list" || type == "map") {
      if (!value.empty()) {
        problems.push_back(fmt::format("{}: a list or map sent as the value '{}'", name, value));
      }
      *node = json::object();  // empty: "List=" is how an empty list is sent
    } else {
      *node = typed_text(*shape_now, value);
    }
  }
  return finish_tree(*this, shape(shape_name), tree, shape_name, problems);
}

void AwsShapes::check_value(const json& shape, const json& value, Wire wire,
                            const std::string& path, std::vector<std::string>& problems) const {
  std::string type = shape.value("type", "");
  auto wrong = [&](const char* expected) {
    problems.push_back(fmt::format("{}: {} is not {}", path, show(value), expected));
  };
  if (shape.value("document", false)) {
    return;
  }
  if (type == "structure") {
    check_structure(shape, value, wire, path, problems);
  } else if (type == "list") {
    if (!value.is_array()) {
      return wrong("a list");
    }
    check_range(shape, static_cast<double>(value.size()), "count", path, problems);
    for (size_t i = 0; i < value.size(); ++i) {
      check_value(this->shape(shape["member"]["shape"]), value[i], wire,
                  fmt::format("{}[{}]", path, i), problems);
    }
  } else if (type == "map") {
    if (!value.is_object()) {
      return wrong("a map");
    }
    check_range(shape, static_cast<double>(value.size()), "count", path, problems);
    for (const auto& [key, item] : value.items()) {
      check_value(this->shape(shape["key"]["shape"]), key, wire, path + " key", problems);
      check_value(this->shape(shape["value"]["shape"]), item, wire,
                  fmt::format("{}[\"{}\"]", path, key), problems);
    }
  } else if (type == "string") {
    if (!value.is_string()) {
      return wrong("a string");
    }
    const std::string& s = value.get_ref<const std::string&>();
    check_range(shape, static_cast<double>(code_points(s)), "length", path, problems);
    if (shape.contains("enum") &&
        std::find(shape["enum"].begin(), shape["enum"].end(), value) == shape["enum"].end()) {
      problems.push_back(
          fmt::format("{}: {} is not one of {}", path, show(value), show(shape["enum"])));
    }
  } else if (type == "integer" || type == "long" || type == "short" || type == "byte") {
    if (!value.is_number_integer()) {
      return wrong("an integer");
    }
    check_range(shape, value.get<double>(), "value", path, problems);
  } else if (type == "boolean") {
    if (!value.is_boolean()) {
      return wrong("a boolean");
    }
  } else if (type == "double" || type == "float") {
    if (!value.is_number() && !is_special_double(value)) {
      return wrong("a number");
    }
    if (value.is_number()) {
      check_range(shape, value.get<double>(), "value", path, problems);
    }
  } else if (type == "timestamp") {
    std::string format =
        shape.value("timestampFormat", wire == Wire::json ? "unixTimestamp" : "iso8601");
    bool epoch_text = value.is_string() &&
                      typed_text(json{{"type", "double"}}, value.get<std::string>()).is_number();
    bool fits = format == "unixTimestamp"
                    ? value.is_number() || (wire == Wire::query && epoch_text)
                    : value.is_string() && (format != "iso8601" || is_iso8601(value));
    if (!fits) {
      return wrong(format == "unixTimestamp" ? "epoch seconds" : "an ISO 8601 time");
    }
  } else if (type == "blob") {
    if (!value.is_string() || !is_base64(value.get<std::string>())) {
      return wrong("base64");
    }
  } else {
    problems.push_back(fmt::format("{}: the shape's type '{}' is unknown", path, type));
  }
}

void AwsShapes::check_structure(const json& shape, const json& value, Wire wire,
                                const std::string& path, std::vector<std::string>& problems) const {
  if (!value.is_object()) {
    problems.push_back(fmt::format("{}: {} is not a structure", path, show(value)));
    return;
  }
  const json& members = shape.value("members", json::object());
  for (const auto& name : shape.value("required", json::array())) {
    if (!value.contains(name.get<std::string>())) {
      problems.push_back(
          fmt::format("{}: the required member {} is missing", path, name.get<std::string>()));
    }
  }
  int set = 0;
  for (const auto& [name, item] : value.items()) {
    if (!members.contains(name)) {
      problems.push_back(fmt::format("{}: {} is not a member", path, name));
      continue;
    }
    set += item.is_null() ? 0 : 1;
    check_value(this->shape(members[name]["shape"]), item, wire, path + "." + name, problems);
  }
  if (shape.value("union", false) && set != 1) {
    problems.push_back(fmt::format("{}: a union sets {} members, not one", path, set));
  }
}

json json_plain(const AwsShapes& shapes, const std::string& shape_name, const json& value,
                const PlainReader& timestamp, const PlainReader& blob) {
  const json& shape = shapes.shape(shape_name);
  std::string type = shape.value("type", "");
  if (type == "structure" && value.is_object() && !shape.value("document", false)) {
    json out = json::object();
    for (const auto& [name, member] : member_or_empty(shape, "members").items()) {
      if (value.contains(name) && !value[name].is_null()) {
        out[name] = json_plain(shapes, member["shape"], value[name], timestamp, blob);
      }
    }
    return out;
  }
  if (type == "list" && value.is_array()) {
    json out = json::array();
    for (const auto& item : value) {
      out.push_back(json_plain(shapes, shape["member"]["shape"], item, timestamp, blob));
    }
    return out;
  }
  if (type == "map" && value.is_object()) {
    json out = json::object();
    for (const auto& [key, item] : value.items()) {
      out[key] = json_plain(shapes, shape["value"]["shape"], item, timestamp, blob);
    }
    return out;
  }
  if (type == "timestamp") {
    return timestamp(value);
  }
  if (type == "blob") {
    return blob(value);
  }
  return value;
}

}  // namespace ztp::testing
