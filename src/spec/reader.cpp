#include "spec/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "spec/expand.hpp"
#include "spec/suggest.hpp"
#include "util/duration.hpp"

namespace ztp::spec::detail {
namespace {

const char* k_duration_hint = "durations look like 500ms, 10s, 5m, 1h or 1m30s";

std::string range_message(const std::string& name, double min, double max, bool integer) {
  auto show = [integer](double x) {
    return integer ? fmt::format("{}", static_cast<long long>(x)) : fmt::format("{}", x);
  };
  constexpr double k_big = 1e9;
  if (max >= k_big) {
    return fmt::format("{} must be at least {}", name, show(min));
  }
  return fmt::format("{} must be between {} and {}", name, show(min), show(max));
}

// The position of a child node: its own mark, or `fallback` for an empty value (yaml-cpp
// marks an empty value at the next token, possibly on a later line).
Position child_position(const YAML::Node& node, Position fallback) {
  if (!node.IsDefined() || node.IsNull()) {
    return fallback;
  }
  return Reader::position(node.Mark(), fallback);
}

// The key/value pairs of mapping `v` in order (none when it is empty), naming it `what` when a
// key is not a plain name, not in `known` (unless null) or repeated: such keys are reported,
// skipped and clear `clean`. nullopt (reported) when `v` is not a mapping.
std::optional<std::vector<std::pair<Value, Value>>> mapping_entries(
    Reader& r, const Value& v, const std::string& what, const std::vector<std::string>* known,
    bool& clean) {
  std::vector<std::pair<Value, Value>> out;
  if (v.is_null()) {
    return out;
  }
  if (!v.node.IsMap()) {
    r.error(v.pos, fmt::format("{} must be a mapping", v.name), "write `key: value` entries");
    return std::nullopt;
  }
  std::map<std::string, Position> seen;
  for (const auto& kv : v.node) {
    Position key_pos = Reader::position(kv.first.Mark(), v.pos);
    if (!kv.first.IsScalar()) {
      r.error(key_pos, fmt::format("a key in {} must be a plain name", what));
      clean = false;
      continue;
    }
    const std::string& key = kv.first.Scalar();
    if (known != nullptr && std::find(known->begin(), known->end(), key) == known->end()) {
      r.error(key_pos, fmt::format("unknown key `{}` in {}", key, what),
              suggest(key, *known, "known keys"));
      clean = false;
      continue;
    }
    if (auto it = seen.find(key); it != seen.end()) {
      r.error(key_pos, fmt::format("duplicate key `{}` in {}", key, what),
              fmt::format("it is first set on line {}; keep one", it->second.line));
      clean = false;
      continue;
    }
    seen.emplace(key, key_pos);
    out.emplace_back(Value{kv.first, key, key_pos, key_pos},
                     Value{kv.second, key, child_position(kv.second, key_pos), key_pos});
  }
  return out;
}

// The value under `key` as written (possibly empty); null when it is absent.
const Value* find_entry(const std::vector<std::pair<Value, Value>>& entries,
                        const std::string& key) {
  for (const auto& [k, v] : entries) {
    if (k.name == key) {
      return &v;
    }
  }
  return nullptr;
}

// Assigns what `read` makes of the value under `key`, when it is present and valid.
template <typename T, typename Read>
void read_into(const Fields& f, const std::string& key, T& out, Read read) {
  if (auto v = f.get(key)) {
    if (auto value = read(*v)) {
      out = std::move(*value);
    }
  }
}

}  // namespace

Reader::Reader(std::string file, const LookupEnv& lookup)
    : m_file(std::move(file)), m_lookup(lookup) {}

void Reader::error(Position at, std::string message, std::string hint) {
  m_diagnostics.push_back(
      Diagnostic{m_file, at.line, at.column, std::move(message), std::move(hint)});
}

std::vector<Diagnostic> Reader::take_diagnostics() {
  std::stable_sort(m_diagnostics.begin(), m_diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
  // A node reached through several aliases would otherwise be reported once per alias.
  auto same = [](const Diagnostic& a, const Diagnostic& b) {
    return a.line == b.line && a.column == b.column && a.message == b.message;
  };
  m_diagnostics.erase(std::unique(m_diagnostics.begin(), m_diagnostics.end(), same),
                      m_diagnostics.end());
  return std::move(m_diagnostics);
}

Position Reader::position(const YAML::Mark& mark, Position fallback) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) {
    return fallback;
  }
  return Position{mark.line + 1, mark.column + 1};
}

std::optional<std::string> Reader::scalar(const Value& v, const char* expected) {
  if (!v.node.IsScalar()) {
    error(v.pos, fmt::format("{} must be {}", v.name, expected));
    return std::nullopt;
  }
  Expansion e = expand_variables(v.node.Scalar(), m_lookup);
  if (!e.ok()) {
    error(v.pos, fmt::format("{}: {}", v.name, e.error), e.hint);
    return std::nullopt;
  }
  return std::move(e.value);
}

std::optional<std::string> Reader::string(const Value& v) { return scalar(v, "a string"); }

std::optional<int> Reader::integer(const Value& v, int min, int max) {
  auto text = scalar(v, "an integer");
  if (!text) {
    return std::nullopt;
  }
  long long n = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (text->empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    error(v.pos, fmt::format("{} must be an integer", v.name));
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || n < min || n > max) {
    error(v.pos, range_message(v.name, min, max, true));
    return std::nullopt;
  }
  return static_cast<int>(n);
}

std::optional<double> Reader::number(const Value& v, double min, double max) {
  auto text = scalar(v, "a number");
  if (!text) {
    return std::nullopt;
  }
  double n = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (text->empty() || ptr != end || ec != std::errc() || !std::isfinite(n)) {
    error(v.pos, fmt::format("{} must be a number", v.name));
    return std::nullopt;
  }
  if (n < min || n > max) {
    error(v.pos, range_message(v.name, min, max, false));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> Reader::boolean(const Value& v) {
  auto text = scalar(v, "true or false");
  if (!text) {
    return std::nullopt;
  }
  if (*text == "true" || *text == "True" || *text == "TRUE") {
    return true;
  }
  if (*text == "false" || *text == "False" || *text == "FALSE") {
    return false;
  }
  error(v.pos, fmt::format("{} must be true or false", v.name));
  return std::nullopt;
}

std::optional<Duration> Reader::duration(const Value& v, bool allow_zero) {
  auto text = scalar(v, "a duration");
  if (!text) {
    return std::nullopt;
  }
  auto d = parse_duration(*text);
  if (!d.ok()) {
    error(v.pos, fmt::format("bad duration for {}: {}", v.name, d.error().message),
          k_duration_hint);
    return std::nullopt;
  }
  if (!allow_zero && d->count() == 0) {
    error(v.pos, fmt::format("{} must be more than 0s", v.name));
    return std::nullopt;
  }
  return *d;
}

std::optional<std::string> Reader::choice(const Value& v, const std::string& what,
                                          const std::vector<std::string>& choices) {
  auto text = scalar(v, "a string");
  if (!text) {
    return std::nullopt;
  }
  if (std::find(choices.begin(), choices.end(), *text) == choices.end()) {
    error(v.pos, fmt::format("unknown {} `{}`", what, *text), suggest(*text, choices));
    return std::nullopt;
  }
  return text;
}

std::optional<std::vector<Value>> Reader::list(const Value& v) {
  if (v.is_null()) {
    return std::vector<Value>{};
  }
  if (!v.node.IsSequence()) {
    error(v.pos, fmt::format("{} must be a list", v.name), "write [a, b] or one `- item` per line");
    return std::nullopt;
  }
  std::vector<Value> out;
  for (const auto& item : v.node) {
    Position p = child_position(item, v.pos);
    out.push_back(Value{item, "each entry of " + v.name, p, p});
  }
  return out;
}

std::optional<std::vector<std::string>> Reader::strings(const Value& v) {
  auto items = list(v);
  if (!items) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& item : *items) {
    if (auto s = string(item)) {
      out.push_back(std::move(*s));
    } else {
      ok = false;
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<std::pair<Value, Value>>> Reader::pairs(const Value& v) {
  bool clean = true;
  auto out = mapping_entries(*this, v, v.name, nullptr, clean);
  if (!clean) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::map<std::string, std::string>> Reader::string_map(const Value& v) {
  auto entries = pairs(v);
  if (!entries) {
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  bool ok = true;
  for (auto& [key, value] : *entries) {
    if (value.is_null()) {
      out[key.name] = "";
      continue;
    }
    if (auto s = string(value)) {
      out[key.name] = std::move(*s);
    } else {
      ok = false;
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

Fields::Fields(Reader& r, const Value& v, std::string what, std::vector<std::string> known)
    : m_reader(r), m_what(std::move(what)), m_pos(v.pos) {
  bool clean = true;
  auto entries = mapping_entries(r, v, m_what, &known, clean);
  m_ok = entries.has_value();
  if (entries) {
    m_entries = std::move(*entries);
  }
}

std::optional<Value> Fields::get(const std::string& key) const {
  const Value* v = find_entry(m_entries, key);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  return *v;
}

bool Fields::has(const std::string& key) const { return find_entry(m_entries, key) != nullptr; }

std::optional<Value> Fields::require(const std::string& key, const std::string& hint) const {
  if (!m_ok) {
    return std::nullopt;
  }
  const Value* v = find_entry(m_entries, key);
  if (v == nullptr) {
    m_reader.error(m_pos, fmt::format("{} is missing required key `{}`", m_what, key), hint);
    return std::nullopt;
  }
  if (v->is_null()) {
    m_reader.error(v->pos, fmt::format("{} must not be empty", key), hint);
    return std::nullopt;
  }
  return *v;
}

void Fields::read(const std::string& key, std::string& out) const {
  read_into(*this, key, out, [&](const Value& v) { return m_reader.string(v); });
}

void Fields::read(const std::string& key, int& out, int min, int max) const {
  read_into(*this, key, out, [&](const Value& v) { return m_reader.integer(v, min, max); });
}

void Fields::read(const std::string& key, double& out, double min, double max) const {
  read_into(*this, key, out, [&](const Value& v) { return m_reader.number(v, min, max); });
}

void Fields::read(const std::string& key, bool& out) const {
  read_into(*this, key, out, [&](const Value& v) { return m_reader.boolean(v); });
}

void Fields::read(const std::string& key, std::vector<std::string>& out) const {
  read_into(*this, key, out, [&](const Value& v) { return m_reader.strings(v); });
}

void Fields::read(const std::string& key, std::map<std::string, std::string>& out) const {
  read_into(*this, key, out, [&](const Value& v) { return m_reader.string_map(v); });
}

void Fields::read_duration(const std::string& key, Duration& out, bool allow_zero) const {
  read_into(*this, key, out, [&](const Value& v) { return m_reader.duration(v, allow_zero); });
}

}  // namespace ztp::spec::detail
