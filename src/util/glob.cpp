#include "util/glob.hpp"

#include <fmt/format.h>

#include <vector>

namespace ztp {
namespace {

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, slash - start));
    start = slash + 1;
  }
}

// Matches one character class starting at pattern[p] == '['. Sets `next` past the closing
// `]`. Returns false when the class is malformed.
bool match_class(std::string_view pattern, size_t p, char c, bool& matched, size_t& next) {
  size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool hit = false;
  bool first = true;
  while (i < pattern.size() && (pattern[i] != ']' || first)) {
    first = false;
    char lo = pattern[i];
    if (lo == '\\') {
      if (i + 1 >= pattern.size()) {
        return false;
      }
      lo = pattern[++i];
    }
    char hi = lo;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      hi = pattern[i + 2];
      if (hi == '\\') {
        if (i + 3 >= pattern.size()) {
          return false;
        }
        hi = pattern[i + 3];
        ++i;
      }
      i += 2;
    }
    if (lo <= c && c <= hi) {
      hit = true;
    }
    ++i;
  }
  if (i >= pattern.size()) {
    return false;
  }
  matched = hit != negate;
  next = i + 1;
  return true;
}

// Matches one path segment against one pattern segment (no `/` in either).
bool match_segment(std::string_view pattern, std::string_view name) {
  size_t p = 0;
  size_t n = 0;
  size_t star_p = std::string_view::npos;
  size_t star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star_p = ++p;
        star_n = n;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++n;
        continue;
      }
      if (pc == '[') {
        bool matched = false;
        size_t next = 0;
        if (!match_class(pattern, p, name[n], matched, next)) {
          return false;
        }
        if (matched) {
          p = next;
          ++n;
          continue;
        }
      } else {
        char literal = pc;
        size_t width = 1;
        if (pc == '\\' && p + 1 < pattern.size()) {
          literal = pattern[p + 1];
          width = 2;
        }
        if (literal == name[n]) {
          p += width;
          ++n;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) {
      return false;
    }
    p = star_p;
    n = ++star_n;
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

Error bad(std::string_view pattern, std::string_view why) {
  return make_error(Errc::invalid, fmt::format("bad glob `{}`: {}", pattern, why));
}

}  // namespace

Result<void> validate_glob(std::string_view pattern) {
  if (pattern.empty()) {
    return make_error(Errc::invalid, "bad glob: the pattern is empty");
  }
  if (pattern.front() == '/') {
    return bad(pattern, "it is absolute; globs are relative to their root, drop the leading `/`");
  }
  if (pattern.back() == '/') {
    return bad(pattern, "it ends with `/`; write `dir/**` to match what a directory holds");
  }
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) {
        return bad(pattern, "it ends with a dangling `\\`");
      }
      ++i;
    } else if (c == '[') {
      bool matched = false;
      size_t next = 0;
      if (!match_class(pattern, i, 'a', matched, next)) {
        return bad(pattern, "`[` is not closed by `]`; write `\\[` for a literal `[`");
      }
      if (pattern.substr(i, next - i).find('/') != std::string_view::npos) {
        return bad(pattern, "a `[...]` class cannot hold `/`");
      }
      i = next - 1;
    }
  }
  for (std::string_view segment : split(pattern)) {
    if (segment.empty()) {
      return bad(pattern, "it has an empty path segment (`//`)");
    }
    if (segment.find("***") != std::string_view::npos) {
      return bad(pattern, "`***` means nothing; use `**` for any depth or `*` within a name");
    }
    if (segment != "**" && segment.find("**") != std::string_view::npos) {
      return bad(pattern,
                 "`**` must be a whole path segment, like `src/**/x`; use `*` within a name");
    }
  }
  return {};
}

bool glob_match(std::string_view pattern, std::string_view path) {
  if (!validate_glob(pattern).ok()) {
    return false;
  }
  std::vector<std::string_view> pat = split(pattern);
  std::vector<std::string_view> segs = split(path);
  // Backtracking over segments: `**` is the only token that spans several, so retrying from
  // the last `**` is enough (the classic single-star algorithm, one level up).
  size_t p = 0;
  size_t s = 0;
  size_t star_p = std::string_view::npos;
  size_t star_s = 0;
  while (s < segs.size()) {
    if (p < pat.size() && pat[p] == "**") {
      star_p = ++p;
      star_s = s;
      continue;
    }
    if (p < pat.size() && match_segment(pat[p], segs[s])) {
      ++p;
      ++s;
      continue;
    }
    if (star_p == std::string_view::npos) {
      return false;
    }
    p = star_p;
    s = ++star_s;
  }
  while (p < pat.size() && pat[p] == "**") {
    ++p;
  }
  return p == pat.size();
}

}  // namespace ztp
