#include <fmt/format.h>

#include <climits>
#include <regex>

#include "spec/sections.hpp"
#include "spec/suggest.hpp"
#include "util/duration.hpp"

namespace ztp::spec::detail {
namespace {

const std::vector<std::string> k_methods{"GET",    "HEAD",  "POST",   "PUT",
                                         "DELETE", "PATCH", "OPTIONS"};

// Reports a regex std::regex (ECMAScript, what the verifier uses) cannot compile.
bool check_regex(Reader& r, const std::string& pattern, const Value& at) {
  try {
    std::regex re(pattern);
  } catch (const std::regex_error& e) {
    r.error(at.pos, fmt::format("{} is not a valid regular expression: {}", at.name, e.what()),
            "the syntax is ECMAScript; escape a literal `.` or `(` with `\\`");
    return false;
  }
  return true;
}

bool is_token(const std::string& name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

void parse_status(Reader& r, const Value& v, Check& check) {
  std::vector<int> codes;
  if (v.node.IsSequence()) {
    auto items = r.list(v);
    if (!items) {
      return;
    }
    if (items->empty()) {
      r.error(v.pos, "status must list at least one status code");
      return;
    }
    for (const auto& item : *items) {
      Value code = item;
      code.name = "status";
      if (auto n = r.integer(code, 100, 599)) {
        codes.push_back(*n);
      }
    }
    if (codes.size() != items->size()) {
      return;
    }
  } else if (auto n = r.integer(v, 100, 599)) {
    codes.push_back(*n);
  } else {
    return;
  }
  check.expect_status = std::move(codes);
}

void parse_header_expectations(Reader& r, const Value& v, Check& check) {
  auto entries = r.pairs(v);
  if (!entries) {
    return;
  }
  for (auto& [key, value] : *entries) {
    if (!is_token(key.name)) {
      r.error(key.pos, fmt::format("`{}` is not a valid header name", key.name));
      continue;
    }
    HeaderExpectation e;
    e.name = key.name;
    if (value.is_null() || !value.node.IsMap()) {
      if (value.is_null()) {
        r.error(value.pos, fmt::format("header `{}` has no expectation", key.name),
                "write a value to compare, or {present: true}, {equals: x} or {matches: regex}");
        continue;
      }
      if (auto s = r.string(value)) {
        e.equals = std::move(*s);
        check.expect_headers.push_back(std::move(e));
      }
      continue;
    }
    Fields f(r, value, fmt::format("header `{}`", key.name), {"equals", "matches", "present"});
    if (auto eq = f.get("equals")) {
      if (auto s = r.string(*eq)) {
        e.equals = std::move(*s);
      }
    }
    if (auto m = f.get("matches")) {
      if (auto s = r.string(*m); s && check_regex(r, *s, *m)) {
        e.matches = std::move(*s);
      }
    }
    f.read("present", e.present);
    if (e.equals && e.matches) {
      r.error(value.pos, fmt::format("header `{}` has both equals and matches", key.name),
              "keep one of them");
    } else if (!e.present && (e.equals || e.matches)) {
      r.error(value.pos,
              fmt::format("header `{}` must be absent (present: false) yet has a value to compare",
                          key.name),
              "drop equals/matches, or present: false");
    } else if (!f.has("present") && !f.has("equals") && !f.has("matches") && f.ok()) {
      r.error(value.pos, fmt::format("header `{}` has no expectation", key.name),
              "write {present: true}, {equals: x} or {matches: regex}");
    }
    check.expect_headers.push_back(std::move(e));
  }
}

void parse_expect(Reader& r, const Value& v, Check& check) {
  Fields f(r, v, "expect",
           {"status", "body_contains", "body_regex", "headers", "max_latency", "min_cert_days"});
  if (auto status = f.get("status")) {
    parse_status(r, *status, check);
  }
  if (auto contains = f.get("body_contains")) {
    if (contains->node.IsSequence()) {
      f.read("body_contains", check.body_contains);
    } else if (auto s = r.string(*contains)) {
      check.body_contains = {std::move(*s)};
    }
  }
  if (auto regex = f.get("body_regex")) {
    if (auto s = r.string(*regex); s && check_regex(r, *s, *regex)) {
      check.body_regex = std::move(*s);
    }
  }
  if (auto headers = f.get("headers")) {
    parse_header_expectations(r, *headers, check);
  }
  if (auto latency = f.get("max_latency")) {
    if (auto d = r.duration(*latency, false)) {
      check.max_latency = *d;
    }
  }
  if (auto days = f.get("min_cert_days")) {
    if (auto n = r.integer(*days, 0, 3650)) {
      check.min_cert_days = *n;
    }
  }
}

void parse_retry(Reader& r, const Value& v, Retry& retry) {
  Fields f(
      r, v, "retry",
      {"attempts", "interval", "backoff", "max_interval", "jitter", "deadline", "circuit_breaker"});
  f.read("attempts", retry.attempts, 1, 1000);
  f.read_duration("interval", retry.interval, true);
  f.read("backoff", retry.backoff, 1.0, 100.0);
  f.read_duration("max_interval", retry.max_interval, true);
  f.read("jitter", retry.jitter);
  f.read_duration("deadline", retry.deadline, false);
  f.read("circuit_breaker", retry.circuit_breaker, 0, INT_MAX);
  if (retry.max_interval < retry.interval) {
    if (auto at = f.get("max_interval")) {
      r.error(at->pos, "max_interval must be at least interval",
              fmt::format("interval is {}", format_duration(retry.interval)));
    } else {
      retry.max_interval = retry.interval;
    }
  }
}

Check parse_check(Reader& r, const Value& v) {
  Check check;
  check.pos = v.pos;
  Fields f(r, v, "check", {"name", "method", "path", "headers", "body", "expect", "retry"});
  if (!f.ok()) {
    return check;
  }
  f.read("name", check.name);
  if (auto method = f.get("method")) {
    if (auto m = r.choice(*method, "method", k_methods)) {
      check.method = *m;
    }
  }
  if (auto path = f.get("path")) {
    if (auto p = r.string(*path)) {
      if (p->empty() ||
          (p->front() != '/' && p->rfind("http://", 0) != 0 && p->rfind("https://", 0) != 0)) {
        r.error(path->pos, fmt::format("check path `{}` must start with `/`", *p),
                "paths are requested from the environment's listen address, like /health; a "
                "full http(s):// URL is also allowed");
      } else {
        check.path = std::move(*p);
      }
    }
  }
  if (auto headers = f.get("headers")) {
    if (auto h = r.string_map(*headers)) {
      for (const auto& [name, value] : *h) {
        if (!is_token(name)) {
          r.error(headers->pos, fmt::format("`{}` is not a valid header name", name));
        }
      }
      check.headers = std::move(*h);
    }
  }
  f.read("body", check.body);
  if (auto expect = f.get("expect")) {
    parse_expect(r, *expect, check);
  }
  if (auto retry = f.get("retry")) {
    parse_retry(r, *retry, check.retry);
  }
  if (check.name.empty()) {
    check.name = check.method + " " + check.path;
  }
  return check;
}

}  // namespace

void parse_checks(Reader& r, const Value& v, std::vector<CheckSuite>& out) {
  auto suites = r.pairs(v);
  if (!suites) {
    return;
  }
  for (auto& [key, value] : *suites) {
    CheckSuite suite;
    suite.name = key.name;
    suite.pos = key.pos;
    bool valid_name =
        !suite.name.empty() &&
        suite.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
    if (!valid_name) {
      r.error(key.pos,
              fmt::format("check suite name `{}` must be lower-case letters, digits, `_` and `-`",
                          suite.name));
    } else if (is_builtin_suite(suite.name)) {
      r.error(key.pos,
              fmt::format("check suite `{}` is built in and cannot be redefined", suite.name),
              "name your suite differently and list both in `verify`");
    }
    Value list = value;
    list.name = fmt::format("check suite `{}`", suite.name);
    auto items = r.list(list);
    if (items && items->empty()) {
      r.error(value.pos, fmt::format("check suite `{}` has no checks", suite.name),
              "add `- path: /` entries, or remove the suite");
    }
    if (items) {
      for (auto& item : *items) {
        item.name = "check";
        suite.checks.push_back(parse_check(r, item));
      }
    }
    out.push_back(std::move(suite));
  }
}

}  // namespace ztp::spec::detail
