#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spec/parse.hpp"
#include "spec/spec.hpp"

// Typed, position-aware reading of yaml-cpp nodes for the spec parser. Every read that fails
// records a Diagnostic and yields nullopt, so the parser goes on and reports every problem.
namespace ztp::spec::detail {

// A node with the name it is reported under and where it is.
struct Value {
  YAML::Node node;
  std::string name;  // the key as written ("replicas"), or "each entry of paths"
  Position pos;      // the value; the key when the value is empty
  Position key_pos;  // the key; pos for list entries
  bool is_null() const { return !node.IsDefined() || node.IsNull(); }
};

class Reader {
 public:
  Reader(std::string file, const LookupEnv& lookup);

  // Records a problem at `at`.
  void error(Position at, std::string message, std::string hint = {});
  // Every problem, sorted by position.
  std::vector<Diagnostic> take_diagnostics();

  // A 1-based position; `fallback` for a null mark.
  static Position position(const YAML::Mark& mark, Position fallback = {1, 1});

  // Scalar reads; `${VAR}` is expanded once per read.
  std::optional<std::string> string(const Value& v);
  std::optional<int> integer(const Value& v, int min, int max);
  std::optional<double> number(const Value& v, double min, double max);
  std::optional<bool> boolean(const Value& v);
  std::optional<Duration> duration(const Value& v, bool allow_zero);
  // One of `choices`; otherwise "unknown WHAT `x`" with a suggestion.
  std::optional<std::string> choice(const Value& v, const std::string& what,
                                    const std::vector<std::string>& choices);

  // The entries of a sequence, each named "each entry of NAME".
  std::optional<std::vector<Value>> list(const Value& v);
  std::optional<std::vector<std::string>> strings(const Value& v);
  // The key/value pairs of a mapping in order; reports non-scalar and duplicate keys.
  std::optional<std::vector<std::pair<Value, Value>>> pairs(const Value& v);
  // A mapping of names to scalars.
  std::optional<std::map<std::string, std::string>> string_map(const Value& v);

 private:
  // The scalar's text after expansion; nullopt (reported) when it is not a scalar.
  std::optional<std::string> scalar(const Value& v, const char* expected);

  std::string m_file;
  const LookupEnv& m_lookup;
  std::vector<Diagnostic> m_diagnostics;
};

// A mapping with a fixed set of keys. Unknown and duplicate keys are reported on
// construction, as is a node that is not a mapping (then every lookup finds nothing).
class Fields {
 public:
  Fields(Reader& r, const Value& v, std::string what, std::vector<std::string> known);

  bool ok() const { return m_ok; }
  Position pos() const { return m_pos; }
  // The value under `key`; nullopt when it is absent or empty.
  std::optional<Value> get(const std::string& key) const;
  // The value under `key`; reports "WHAT is missing required key `key`" (at the mapping) when
  // it is absent, or that it is empty.
  std::optional<Value> require(const std::string& key, const std::string& hint = {}) const;
  // Whether `key` is written at all (even empty).
  bool has(const std::string& key) const;
  // The keys in the order written.
  const std::vector<std::pair<Value, Value>>& entries() const { return m_entries; }

  // Assign `out` when `key` is present and valid; report otherwise. Absent keys keep `out`.
  void read(const std::string& key, std::string& out) const;
  void read(const std::string& key, int& out, int min, int max) const;
  void read(const std::string& key, double& out, double min, double max) const;
  void read(const std::string& key, bool& out) const;
  void read(const std::string& key, std::vector<std::string>& out) const;
  void read(const std::string& key, std::map<std::string, std::string>& out) const;
  void read_duration(const std::string& key, Duration& out, bool allow_zero) const;

 private:
  Reader& m_reader;
  std::string m_what;
  Position m_pos;
  bool m_ok = false;
  std::vector<std::pair<Value, Value>> m_entries;
};

}  // namespace ztp::spec::detail
