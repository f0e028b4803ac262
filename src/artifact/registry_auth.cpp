#include "artifact/registry_auth.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "sys/crypto.hpp"
namespace ztp::artifact {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// RFC 7230 tchar, plus '/' so a token68 (base64) reads as one word.
bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::strchr("!#$%&'*+-.^_`|~/", c) != nullptr;
}

// A cursor over a WWW-Authenticate value.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : m_s(s) {}
  bool done() const { return m_pos >= m_s.size(); }
  char peek() const { return done() ? '\0' : m_s[m_pos]; }
  size_t pos() const { return m_pos; }
  void seek(size_t pos) { m_pos = pos; }
  void skip_spaces() {
    while (!done() && (peek() == ' ' || peek() == '\t')) {
      ++m_pos;
    }
  }
  void skip_spaces_and_commas() {
    while (!done() && (peek() == ' ' || peek() == '\t' || peek() == ',')) {
      ++m_pos;
    }
  }
  std::string_view word() {
    size_t start = m_pos;
    while (!done() && is_word_char(peek())) {
      ++m_pos;
    }
    return m_s.substr(start, m_pos - start);
  }
  size_t count(char c) {
    size_t n = 0;
    while (!done() && peek() == c) {
      ++m_pos;
      ++n;
    }
    return n;
  }
  // A quoted-string (the opening quote is next) with its backslash escapes undone.
  Result<std::string> quoted() {
    size_t start = m_pos++;
    std::string out;
    while (!done()) {
      char c = m_s[m_pos++];
      if (c == '"') {
        return out;
      }
      if (c == '\\' && !done()) {
        c = m_s[m_pos++];
      }
      out += c;
    }
    return make_error(
        Errc::invalid,
        fmt::format("WWW-Authenticate: the quoted string at column {} is not closed", start + 1));
  }
  // An unquoted value: up to the next comma or space (lenient about characters a strict token
  // would refuse, such as the ':' of an unquoted realm URL).
  std::string_view bare() {
    size_t start = m_pos;
    while (!done() && peek() != ',' && peek() != ' ' && peek() != '\t') {
      ++m_pos;
    }
    return m_s.substr(start, m_pos - start);
  }

 private:
  std::string_view m_s;
  size_t m_pos = 0;
};

// Parses the items after a challenge's scheme: a token68 or auth-params, up to the next scheme.
Result<void> parse_challenge_items(Scanner& in, AuthChallenge& ch) {
  bool first = true;
  while (!in.done()) {
    if (in.peek() == ',') {
      in.seek(in.pos() + 1);
      in.skip_spaces();
      first = false;  // a token68 follows the scheme itself; after a comma a bare word is a scheme
      continue;
    }
    size_t item_start = in.pos();
    std::string_view name = in.word();
    if (name.empty()) {
      return make_error(Errc::invalid, fmt::format("WWW-Authenticate: unexpected '{}' at column {}",
                                                   in.peek(), in.pos() + 1));
    }
    in.skip_spaces();
    if (in.peek() != '=') {
      if (first) {
        ch.token68 = std::string(name);  // "Negotiate abc"
        first = false;
        in.skip_spaces();
        continue;
      }
      in.seek(item_start);  // the next challenge's scheme
      return {};
    }
    // `name=` then a value is a parameter; `name=` (or `==`) then a comma or the end is a
    // token68 that ends in padding.
    size_t equals = in.count('=');
    in.skip_spaces();
    if (equals > 1 || in.done() || in.peek() == ',') {
      if (!first) {
        return make_error(Errc::invalid, fmt::format("WWW-Authenticate: parameter \"{}\" at "
                                                     "column {} has no value",
                                                     name, item_start + 1));
      }
      ch.token68 = std::string(name) + std::string(equals, '=');
      first = false;
      continue;
    }
    std::string value;
    if (in.peek() == '"') {
      ZTP_ASSIGN_OR_RETURN(value, in.quoted());
    } else {
      value = std::string(in.bare());
    }
    ch.params[lower(name)] = std::move(value);
    first = false;
    in.skip_spaces();
  }
  return {};
}

// The start of a body, on one line, for an error message.
std::string short_body(std::string_view body) {
  std::string text(body.substr(0, 200));
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

}  // namespace

RegistryAuth RegistryAuth::from_environment() {
  RegistryAuth a;
  a.username = env(k_env_registry_username);
  a.password = env(k_env_registry_password);
  a.token = env(k_env_registry_token);
  return a;
}

Result<std::vector<AuthChallenge>> parse_www_authenticate(std::string_view header) {
  Scanner in(header);
  std::vector<AuthChallenge> out;
  while (true) {
    in.skip_spaces_and_commas();
    if (in.done()) {
      break;
    }
    size_t start = in.pos();
    std::string_view scheme = in.word();
    if (scheme.empty() || in.peek() == '=') {
      return make_error(Errc::invalid,
                        fmt::format("WWW-Authenticate: expected an auth scheme at column {}: {}",
                                    start + 1, header));
    }
    AuthChallenge ch;
    ch.scheme = lower(scheme);
    in.skip_spaces();
    ZTP_TRY(parse_challenge_items(in, ch));
    out.push_back(std::move(ch));
  }
  if (out.empty()) {
    return make_error(Errc::invalid, "WWW-Authenticate is empty");
  }
  return out;
}

Result<std::string> parse_token_response(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(
        Errc::invalid,
        fmt::format("the token server's answer is not a JSON object: {}", short_body(body)));
  }
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      return it->get<std::string>();
    }
  }
  return make_error(Errc::invalid,
                    "the token server's answer holds neither \"token\" nor \"access_token\"");
}

std::string basic_authorization(std::string_view username, std::string_view password) {
  return "Basic " + sys::base64(fmt::format("{}:{}", username, password));
}

std::string repository_scope(std::string_view repository, bool push) {
  if (repository.empty()) {
    return {};
  }
  return fmt::format("repository:{}:{}", repository, push ? "pull,push" : "pull");
}

std::string RegistryAuthenticator::authorization(const std::string& scope) const {
  if (!m_auth.token.empty()) {
    return "Bearer " + m_auth.token;
  }
  if (auto it = m_tokens.find(scope); it != m_tokens.end()) {
    return "Bearer " + it->second;
  }
  if (m_basic) {
    return basic_authorization(m_auth.username, m_auth.password);
  }
  return {};
}

Result<bool> RegistryAuthenticator::answer(std::string_view www_authenticate,
                                           const std::string& scope, sys::HttpClient& session) {
  if (!m_auth.token.empty()) {
    return false;  // a given token is used as is; the registry refused it
  }
  auto challenges = parse_www_authenticate(www_authenticate);
  if (!challenges.ok()) {
    return false;
  }
  auto find = [&](std::string_view scheme) -> const AuthChallenge* {
    for (const auto& c : challenges.value()) {
      if (c.scheme == scheme) {
        return &c;
      }
    }
    return nullptr;
  };
  if (const auto* bearer = find("bearer")) {
    // A cached token that drew a 401 has expired or lacks the scope: fetch it again (the
    // caller retries once).
    m_tokens.erase(scope);
    ZTP_ASSIGN_OR_RETURN(m_tokens[scope], fetch_token(*bearer, scope, session));
    return true;
  }
  if (find("basic") != nullptr) {
    if (m_auth.username.empty() || m_basic) {
      return false;
    }
    m_basic = true;
    return true;
  }
  return false;
}

Result<std::string> RegistryAuthenticator::fetch_token(const AuthChallenge& challenge,
                                                       const std::string& scope,
                                                       sys::HttpClient& session) {
  auto realm_it = challenge.params.find("realm");
  if (realm_it == challenge.params.end() ||
      (realm_it->second.rfind("http://", 0) != 0 && realm_it->second.rfind("https://", 0) != 0)) {
    return make_error(Errc::invalid,
                      "the registry asks for a bearer token but names no http(s) realm to get it "
                      "from; set ZTP_REGISTRY_TOKEN to a token obtained elsewhere");
  }
  const std::string& realm = realm_it->second;
  std::string url = realm;
  auto add = [&](std::string_view key, const std::string& value) -> Result<void> {
    ZTP_ASSIGN_OR_RETURN(url, sys::append_query(url, key, value));
    return {};
  };
  if (auto it = challenge.params.find("service"); it != challenge.params.end()) {
    ZTP_TRY(add("service", it->second));
  }
  if (!scope.empty()) {
    ZTP_TRY(add("scope", scope));
  }
  // The registry may name a scope of its own (another repository of a mount, say): ask for it too.
  if (auto it = challenge.params.find("scope");
      it != challenge.params.end() && !it->second.empty() && it->second != scope) {
    ZTP_TRY(add("scope", it->second));
  }
  sys::HttpRequest req;
  req.url = url;
  req.max_body = 1 << 20;
  if (!m_auth.username.empty()) {
    req.headers.emplace_back("Authorization",
                             basic_authorization(m_auth.username, m_auth.password));
  }
  auto res = session.send(req);
  if (!res.ok()) {
    return make_error(res.error().code, fmt::format("the registry's token server {} did not "
                                                    "answer: {}",
                                                    realm, res.error().message));
  }
  const std::string who = m_auth.username.empty()
                              ? std::string("anonymous access")
                              : fmt::format("the credentials of user \"{}\"", m_auth.username);
  if (res->status == 401 || res->status == 403) {
    return make_error(Errc::refused,
                      fmt::format("the registry's token server {} refused {} ({} {}); set {} and "
                                  "{} to an account with access to {}",
                                  realm, who, res->status, res->reason, k_env_registry_username,
                                  k_env_registry_password, scope.empty() ? "the registry" : scope));
  }
  if (res->status != 200) {
    return make_error(res->status >= 500 ? Errc::unavailable : Errc::invalid,
                      fmt::format("the registry's token server {} answered {} {}: {}", realm,
                                  res->status, res->reason, short_body(res->body)));
  }
  auto token = parse_token_response(res->body);
  if (!token.ok()) {
    return make_error(Errc::invalid, fmt::format("{}: {}", realm, token.error().message));
  }
  return token;
}

}  // namespace ztp::artifact
