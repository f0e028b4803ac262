#include "artifact/dockerfile.hpp"
#include "artifact/dockerfile_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

namespace ztp::artifact::dockerfile {
namespace {

using namespace detail;
using nlohmann::json;
using Vars = std::map<std::string, std::string>;

// Splits on runs of blanks, as Docker does for the shell form of most instructions.
std::vector<std::string> split_blanks(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) {
      ++i;
    }
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) {
      ++i;
    }
    if (i > start) {
      out.emplace_back(s.substr(start, i - start));
    }
  }
  return out;
}

// Docker's word splitting for ENV, LABEL and ARG: blanks inside quotes or after the escape
// character do not split. Quotes and escapes stay, for substitute() to remove.
std::vector<std::string> parse_words(std::string_view rest, char escape) {
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  for (size_t pos = 0; pos < rest.size(); ++pos) {
    char c = rest[pos];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == escape && quote != '\'') {
        if (pos + 1 == rest.size()) {
          continue;
        }
        word += c;
        c = rest[++pos];
      }
      word += c;
      continue;
    }
    if (is_space(c)) {
      if (!word.empty()) {
        words.push_back(std::move(word));
      }
      word.clear();
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == escape) {
      if (pos + 1 == rest.size()) {
        continue;
      }
      word += c;
      c = rest[++pos];
    }
    word += c;
  }
  if (!word.empty()) {
    words.push_back(std::move(word));
  }
  return words;
}

// The leading --flag words of an instruction (quotes and backslashes removed, as Docker does)
// and what follows them. A bare `--` ends the flags.
std::pair<std::vector<std::string>, std::string_view> split_flags(std::string_view line) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (true) {
    while (pos < line.size() && is_space(line[pos])) {
      ++pos;
    }
    if (pos + 1 >= line.size() || line[pos] != '-' || line[pos + 1] != '-') {
      return {words, line.substr(pos)};
    }
    std::string word;
    char quote = 0;
    for (; pos < line.size() && (quote != 0 || !is_space(line[pos])); ++pos) {
      char c = line[pos];
      if (quote == 0 && (c == '\'' || c == '"')) {
        quote = c;
        continue;
      }
      if (c == quote) {
        quote = 0;
        continue;
      }
      if (c == '\\') {
        if (pos + 1 == line.size()) {
          continue;
        }
        c = line[++pos];
      }
      word += c;
    }
    if (word == "--") {
      return {words, line.substr(pos)};
    }
    words.push_back(std::move(word));
  }
}

// BuildKit's here-document marker: <<EOF, <<-EOF, 2<<"EOF".
bool is_heredoc(std::string_view word) {
  size_t i = 0;
  while (i < word.size() && is_digit(word[i])) {
    ++i;
  }
  if (word.substr(i, 2) != "<<") {
    return false;
  }
  i += 2;
  if (i < word.size() && word[i] == '-') {
    ++i;
  }
  return i < word.size() && word.find('<', i) == std::string_view::npos;
}

// The exec form of `text`: nullopt when it is not a JSON array (then it is the shell form, as
// in Docker); invalid when it is an array holding something other than strings.
Result<std::optional<std::vector<std::string>>> exec_form(std::string_view text,
                                                          const std::string& keyword,
                                                          std::string_view file, int line) {
  using Out = std::optional<std::vector<std::string>>;
  text = trim_left(text);
  if (text.empty() || text.front() != '[') {
    return Out();
  }
  json j;
  try {
    j = json::parse(text.begin(), text.end(), nullptr, false);
  } catch (const json::exception&) {
    return Out();
  }
  if (j.is_discarded() || !j.is_array()) {
    return Out();
  }
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) {
      return fail_at(file, line,
                     fmt::format("{}'s JSON array holds a value that is not a string: quote every "
                                 "element, as in [\"/app/server\", \"--port\", \"80\"]",
                                 keyword));
    }
    out.push_back(v.get<std::string>());
  }
  return Out(std::move(out));
}

Result<Instruction> make_instruction(std::string_view text, int line, char escape,
                                     std::string_view file) {
  Instruction ins;
  ins.line = line;
  text = trim(text);
  size_t end = 0;
  while (end < text.size() && !is_space(text[end])) {
    ++end;
  }
  ins.keyword = to_upper(text.substr(0, end));
  auto [flag_words, rest] = split_flags(text.substr(end));
  for (const auto& word : flag_words) {
    std::string_view body = std::string_view(word).substr(2);
    size_t eq = body.find('=');
    std::string name(body.substr(0, eq));
    if (name.empty()) {
      return fail_at(file, line, fmt::format("`{}` is not a flag: write --name=value", word));
    }
    std::string value = eq == std::string_view::npos ? "" : std::string(body.substr(eq + 1));
    // RUN may repeat --mount; ztp does not run RUN, so the last one is kept.
    if (!ins.flags.insert_or_assign(name, value).second && ins.keyword != "RUN") {
      return fail_at(file, line, fmt::format("--{} is given twice: keep one", name));
    }
  }
  ins.rest = std::string(trim(rest));

  const std::string& k = ins.keyword;
  std::optional<std::vector<std::string>> exec;
  if (k == "ENV" || k == "LABEL" || k == "ARG") {
    ins.args = parse_words(ins.rest, escape);
    return ins;
  }
  if (k == "HEALTHCHECK") {
    std::string_view r = ins.rest;
    size_t sep = std::min(
        r.size(), static_cast<size_t>(std::find_if(r.begin(), r.end(), is_space) - r.begin()));
    ZTP_ASSIGN_OR_RETURN(exec, exec_form(r.substr(sep), k, file, line));
    if (exec) {
      exec->insert(exec->begin(), std::string(r.substr(0, sep)));
    }
  } else if (k == "RUN" || k == "CMD" || k == "ENTRYPOINT" || k == "SHELL" || k == "COPY" ||
             k == "ADD" || k == "VOLUME") {
    ZTP_ASSIGN_OR_RETURN(exec, exec_form(ins.rest, k, file, line));
  }
  if (exec) {
    ins.exec_form = true;
    ins.args = std::move(*exec);
    return ins;
  }
  ins.args = split_blanks(ins.rest);
  if (k == "RUN" || k == "COPY" || k == "ADD") {
    for (const auto& word : parse_words(ins.rest, escape)) {
      if (is_heredoc(word)) {
        return fail_at(file, line,
                       fmt::format("{} uses a here-document ({}), which ztp's Dockerfile reader "
                                   "does not support: put the text in a file of the build context "
                                   "and COPY it",
                                   k, word));
      }
    }
  }
  return ins;
}

// The parser directive (`# name=value`) on `line`, when it is one.
std::optional<std::pair<std::string, std::string>> directive_of(std::string_view line) {
  line = trim_left(line);
  if (line.empty() || line.front() != '#') {
    return std::nullopt;
  }
  line = trim_left(line.substr(1));
  size_t i = 0;
  while (i < line.size() && (is_alpha(line[i]) || (i > 0 && is_digit(line[i])))) {
    ++i;
  }
  std::string_view after = trim_left(line.substr(i));
  if (i == 0 || after.empty() || after.front() != '=' || trim(after.substr(1)).empty()) {
    return std::nullopt;
  }
  return std::pair{to_lower(line.substr(0, i)), std::string(trim(after.substr(1)))};
}

// Strips the escape character that ends `line` (blanks may follow it): the instruction
// continues on the next line.
bool strip_continuation(std::string& line, char escape) {
  size_t end = line.find_last_not_of(" \t");
  if (end == std::string::npos || line[end] != escape) {
    return false;
  }
  line.resize(end);
  return true;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);
  }
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    lines.push_back(line);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return lines;
}

// Docker's shell lexer, reduced to what one word needs: quotes, escapes and ${} forms.
class Lexer {
 public:
  Lexer(std::string_view text, const Vars& vars, char escape)
      : m_text(text), m_vars(vars), m_escape(escape) {}

  // The text up to `stop` (consumed), or to the end when `stop` is 0.
  Result<std::string> until(char stop) {
    std::string out;
    while (m_pos < m_text.size()) {
      char c = m_text[m_pos];
      if (stop != 0 && c == stop) {
        ++m_pos;
        return out;
      }
      if (c == '$' || c == '\'' || c == '"') {
        ZTP_ASSIGN_OR_RETURN(std::string part,
                             c == '$' ? dollar() : (c == '"' ? double_quoted() : single_quoted()));
        out += part;
        continue;
      }
      ++m_pos;
      if (c == m_escape) {
        if (m_pos == m_text.size()) {
          break;
        }
        c = m_text[m_pos++];
      }
      out += c;
    }
    if (stop != 0) {
      return unclosed();
    }
    return out;
  }

 private:
  Error error(std::string_view what) const {
    return make_error(Errc::invalid, fmt::format("`{}`: {}", m_text, what));
  }
  Error unclosed() const {
    return error(fmt::format(
        "a `${{` is not closed by `}}`: close it, or write {}$ for a literal $", m_escape));
  }

  Result<std::string> single_quoted() {
    size_t close = m_text.find('\'', m_pos + 1);
    if (close == std::string_view::npos) {
      return error("a ' is not closed: close it, or write \"'\" for a literal '");
    }
    std::string out(m_text.substr(m_pos + 1, close - m_pos - 1));
    m_pos = close + 1;
    return out;
  }

  // Inside "...": the escape character escapes only ", $ and itself; $ still substitutes.
  Result<std::string> double_quoted() {
    std::string out;
    ++m_pos;
    while (m_pos < m_text.size()) {
      char c = m_text[m_pos];
      if (c == '"') {
        ++m_pos;
        return out;
      }
      if (c == '$') {
        ZTP_ASSIGN_OR_RETURN(std::string v, dollar());
        out += v;
        continue;
      }
      ++m_pos;
      if (c == m_escape && m_pos < m_text.size()) {
        char next = m_text[m_pos];
        if (next == '"' || next == '$' || next == m_escape) {
          c = next;
          ++m_pos;
        }
      } else if (c == m_escape) {
        continue;
      }
      out += c;
    }
    return error(
        fmt::format("a \" is not closed: close it, or write {}\" for a literal \"", m_escape));
  }

  // A name after $: letters, digits and _, or all digits, or one special parameter ($$, $@...).
  std::string name() {
    size_t start = m_pos;
    if (m_pos < m_text.size() && is_digit(m_text[m_pos])) {
      while (m_pos < m_text.size() && is_digit(m_text[m_pos])) {
        ++m_pos;
      }
    } else if (m_pos < m_text.size() &&
               std::string_view("@*#?-$!0").find(m_text[m_pos]) != std::string_view::npos) {
      ++m_pos;
    } else {
      while (m_pos < m_text.size() &&
             (is_alpha(m_text[m_pos]) || is_digit(m_text[m_pos]) || m_text[m_pos] == '_')) {
        ++m_pos;
      }
    }
    return std::string(m_text.substr(start, m_pos - start));
  }

  Result<std::string> dollar() {
    ++m_pos;
    if (m_pos >= m_text.size() || m_text[m_pos] != '{') {
      std::string n = name();
      if (n.empty()) {
        return std::string("$");
      }
      auto it = m_vars.find(n);
      return it == m_vars.end() ? std::string() : it->second;
    }
    ++m_pos;
    if (m_pos >= m_text.size()) {
      return unclosed();
    }
    if (char c = m_text[m_pos]; c == '{' || c == '}' || c == ':') {
      return error("a `${}` names no variable: write ${NAME}");
    }
    std::string n = name();
    if (m_pos >= m_text.size()) {
      return unclosed();
    }
    char op = m_text[m_pos++];
    auto it = m_vars.find(n);
    bool set = it != m_vars.end();
    if (op == '}') {
      return set ? it->second : std::string();
    }
    std::string written(1, op);
    bool colon = op == ':';
    if (colon) {
      if (m_pos >= m_text.size()) {
        return unclosed();
      }
      op = m_text[m_pos++];
      written += op;
    }
    if (op != '-' && op != '+' && op != '?') {
      return error(
          fmt::format("${{{}{}...}} is not supported by ztp's Dockerfile reader: use ${{{}}}, "
                      "${{{}:-default}} or ${{{}:+alternative}}",
                      n, written, n, n, n));
    }
    ZTP_ASSIGN_OR_RETURN(std::string word, until('}'));
    // With the colon, an empty value counts as unset, as in the shell.
    bool missing = !set || (colon && it->second.empty());
    if (op == '-') {
      return missing ? word : it->second;
    }
    if (op == '+') {
      return missing ? std::string() : word;
    }
    if (missing) {
      std::string why = !word.empty() ? word
                        : set         ? std::string("is not allowed to be empty")
                                      : std::string("is not allowed to be unset");
      return error(fmt::format("{}: {}: give it a value (a build arg, ARG or ENV)", n, why));
    }
    return it->second;
  }

  std::string_view m_text;
  size_t m_pos = 0;
  const Vars& m_vars;
  char m_escape;
};

}  // namespace

Result<Parsed> parse(std::string_view text, std::string_view file) {
  Parsed out;
  std::vector<std::string_view> lines = split_lines(text);
  bool directives_done = false;
  std::set<std::string> seen;
  size_t i = 0;
  while (i < lines.size()) {
    int number = static_cast<int>(i) + 1;
    std::string_view raw = lines[i++];
    // Parser directives count only at the very top: the first other line ends them.
    if (!directives_done) {
      auto d = directive_of(raw);
      if (d && (d->first == "escape" || d->first == "syntax" || d->first == "check")) {
        if (!seen.insert(d->first).second) {
          return fail_at(file, number,
                         fmt::format("the {} parser directive is given twice: "
                                     "keep one",
                                     d->first));
        }
        if (d->first == "escape" && d->second != "\\" && d->second != "`") {
          return fail_at(file, number,
                         fmt::format("escape={} is not an escape character: write "
                                     "# escape=\\ or # escape=`",
                                     d->second));
        }
        out.escape = d->first == "escape" ? d->second.front() : out.escape;
        continue;
      }
      directives_done = true;
    }
    std::string_view first = trim_left(raw);
    if (first.empty() || first.front() == '#') {
      continue;
    }
    std::string line(first);
    bool more = strip_continuation(line, out.escape);
    // Comment and blank lines inside a continuation are dropped, as in Docker.
    while (more && i < lines.size()) {
      std::string_view next = lines[i++];
      std::string_view t = trim_left(next);
      if (t.empty() || t.front() == '#') {
        continue;
      }
      std::string piece(next);
      more = strip_continuation(piece, out.escape);
      line += piece;
    }
    if (trim(line).empty()) {
      continue;
    }
    ZTP_ASSIGN_OR_RETURN(auto ins, make_instruction(line, number, out.escape, file));
    out.instructions.push_back(std::move(ins));
  }
  return out;
}

Result<std::string> substitute(std::string_view word,
                               const std::map<std::string, std::string>& vars, char escape) {
  return Lexer(word, vars, escape).until(0);
}

}  // namespace ztp::artifact::dockerfile
