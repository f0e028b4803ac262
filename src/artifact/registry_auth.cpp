#include "artifact/registry_auth.hpp"

#include <fmt/format.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sys/crypto.hpp"
#include "sys/process.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
namespace ztp::artifact {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
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
    ch.params[text::to_lower(name)] = std::move(value);
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

// What podman's and docker's files and helpers say, as for_registry reads them.
constexpr std::string_view k_docker_hub = "docker.io";
constexpr std::string_view k_docker_hub_key = "https://index.docker.io/v1/";
constexpr std::string_view k_identity_token_user = "<token>";
constexpr std::string_view k_helper_prefix = "docker-credential-";
// What docker's helpers print (on standard output, exiting 1) for a host they know nothing of.
constexpr std::string_view k_helper_not_found = "credentials not found in native keychain";
// A helper may unlock a keychain or ask a cloud's metadata server; it never legitimately takes
// this long, and a hung one must not hang a deployment.
constexpr std::chrono::seconds k_helper_timeout{60};

using Json = nlohmann::json;
// A file's answer for a host: credentials, or nullopt when it has none (look further).
using Found = Result<std::optional<RegistryAuth>>;

Found some(RegistryAuth auth) { return std::optional<RegistryAuth>(std::move(auth)); }
Found none() { return std::optional<RegistryAuth>(); }

std::string env_value(const EnvLookup& env, std::string_view name) {
  return env(name).value_or(std::string());
}

// Docker Hub answers under several names; docker's files know it as "https://index.docker.io/v1/".
std::string canonical_host(std::string_view host) {
  std::string h = text::to_lower(host);
  if (h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io") {
    return std::string(k_docker_hub);
  }
  return h;
}

// The host an `auths` or `credHelpers` key names: docker's legacy keys carry a scheme and an API
// path ("https://host/v1/", "host/v2/"). nullopt for podman's keys scoped to a repository
// ("host/team/app"): a host alone cannot tell whether they apply.
std::optional<std::string> key_host(std::string_view key) {
  std::string k = text::to_lower(key);
  bool had_scheme = false;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (k.rfind(scheme, 0) == 0) {
      k.erase(0, scheme.size());
      had_scheme = true;
    }
  }
  size_t slash = k.find('/');
  if (slash == std::string::npos) {
    return canonical_host(k);
  }
  std::string_view path = std::string_view(k).substr(slash);
  if (had_scheme || path == "/v1" || path == "/v1/" || path == "/v2" || path == "/v2/") {
    return canonical_host(k.substr(0, slash));
  }
  return std::nullopt;
}

struct Entry {
  std::string key;
  const Json* value = nullptr;
};

// The member of `object` for `host`: its exact key first, else one of docker's spellings of it.
std::optional<Entry> find_entry(const Json& object, std::string_view host) {
  std::string exact = text::to_lower(host);
  for (const auto& [key, value] : object.items()) {
    if (text::to_lower(key) == exact) {
      return Entry{key, &value};
    }
  }
  std::string wanted = canonical_host(host);
  for (const auto& [key, value] : object.items()) {
    if (key_host(key) == wanted) {
      return Entry{key, &value};
    }
  }
  return std::nullopt;
}

// Strict base64 (RFC 4648 §4), padding optional; nullopt for anything else.
std::optional<std::string> from_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : text) {
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* at = c != '\0' ? std::strchr(alphabet, c) : nullptr;
    if (at == nullptr) {
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<unsigned>(at - alphabet);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  if (count >= 6) {
    return std::nullopt;  // a lone character carries no whole byte
  }
  return out;
}

std::string string_member(const Json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The credentials of one `auths` entry, docker's fields first: identitytoken, registrytoken,
// auth (base64 of "user:password"), then podman's and older dockers' username and password.
Found read_auths_entry(const Entry& entry, const std::filesystem::path& file) {
  const std::string where = fmt::format("{}: auths[\"{}\"]", file.string(), entry.key);
  if (!entry.value->is_object()) {
    return make_error(Errc::invalid, fmt::format("{} is not an object", where));
  }
  const Json& e = *entry.value;
  if (auto identity = string_member(e, "identitytoken"); !identity.empty()) {
    return some({std::string(k_identity_token_user), identity, ""});
  }
  if (auto token = string_member(e, "registrytoken"); !token.empty()) {
    return some({"", "", token});
  }
  if (auto auth = string_member(e, "auth"); !auth.empty()) {
    auto decoded = from_base64(text::trim(auth));
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return make_error(Errc::invalid,
                        fmt::format("{}: \"auth\" is not base64 of user:password; log in again "
                                    "(podman login or docker login) to rewrite it",
                                    where));
    }
    return some({decoded->substr(0, colon), decoded->substr(colon + 1), ""});
  }
  if (auto user = string_member(e, "username"); !user.empty()) {
    return some({user, string_member(e, "password"), ""});
  }
  return none();  // docker's placeholder `{}` beside a credsStore
}

// How a finished process ended, for an error message.
std::string describe_exit(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return fmt::format("exit status {}", WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    return fmt::format("killed by signal {}", WTERMSIG(wait_status));
  }
  return "ended abnormally";
}

// Runs `docker-credential-<helper> get` with the server on its standard input, as docker does.
// Its standard output holds the secret: it never reaches a message, only its standard error.
Found ask_helper(std::string_view helper, std::string_view host, const std::filesystem::path& file,
                 const EnvLookup& env) {
  const std::string program = std::string(k_helper_prefix) + std::string(helper);
  if (helper.empty() || helper.find('/') != std::string_view::npos) {
    return make_error(Errc::invalid,
                      fmt::format("{}: the credential helper \"{}\" for {} is not a helper name",
                                  file.string(), helper, host));
  }
  auto path = sys::find_on_path(program, env_value(env, "PATH"));
  if (!path) {
    return make_error(Errc::not_found,
                      fmt::format("registry credentials for {}: the credential helper {} that {} "
                                  "names is not installed (not on PATH); install it or remove it "
                                  "from that file",
                                  host, program, file.string()));
  }
  // Docker keeps Docker Hub's credentials under its legacy key, so that is what its helpers know.
  const std::string server =
      canonical_host(host) == k_docker_hub ? std::string(k_docker_hub_key) : std::string(host);
  const std::string who =
      fmt::format("credential helper {} for {} (named by {})", program, host, file.string());
  // The whole input goes into the pipe before the helper starts: a host is far below the pipe's
  // buffer, so the write cannot block.
  if (server.size() >= PIPE_BUF) {
    return make_error(Errc::invalid, fmt::format("{}: the host name is too long", who));
  }
  ZTP_ASSIGN_OR_RETURN(auto input, sys::make_pipe());
  bool written = sys::write_all(input[1], server);
  ::close(input[1]);
  if (!written) {
    ::close(input[0]);
    return make_error(Errc::internal, fmt::format("{}: cannot write its input", who));
  }
  sys::SpawnOptions options;
  options.argv = {path->string(), "get"};
  options.stdin_fd = input[0];
  auto run = sys::run_captured(options, k_helper_timeout);
  ::close(input[0]);
  if (!run.ok()) {
    return make_error(run.error().code, fmt::format("{}: {}", who, run.error().message));
  }
  if (run->timed_out) {
    return make_error(Errc::timeout,
                      fmt::format("{} did not answer within {} s", who, k_helper_timeout.count()));
  }
  const bool succeeded = WIFEXITED(run->wait_status) && WEXITSTATUS(run->wait_status) == 0;
  if (!succeeded) {
    if (text::trim(run->out) == k_helper_not_found || text::trim(run->err) == k_helper_not_found) {
      return none();
    }
    std::string_view first_line =
        text::trim(std::string_view(run->err).substr(0, run->err.find('\n')));
    return make_error(Errc::invalid,
                      fmt::format("{} failed ({}){}{}", who, describe_exit(run->wait_status),
                                  first_line.empty() ? "" : ": ", first_line.substr(0, 200)));
  }
  if (text::trim(run->out).empty()) {
    return none();
  }
  auto answer = Json::parse(run->out, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) {
    return make_error(Errc::invalid,
                      fmt::format("{} answered with something other than a JSON object", who));
  }
  std::string username = string_member(answer, "Username");
  std::string secret = string_member(answer, "Secret");
  if (username.empty() && secret.empty()) {
    return none();
  }
  // A username of "<token>" marks the secret as an identity token: kept as it is, the shape
  // read_auths_entry gives an `identitytoken`.
  return some({std::move(username), std::move(secret), ""});
}

// The object member `name` of a credentials file, or null when absent.
Result<const Json*> object_member(const Json& j, const char* name,
                                  const std::filesystem::path& file) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    return static_cast<const Json*>(nullptr);
  }
  if (!it->is_object()) {
    return make_error(Errc::invalid,
                      fmt::format("{}: \"{}\" is not an object", file.string(), name));
  }
  return &*it;
}

// What one credentials file holds for `host`: its credHelpers entry, its auths entry, then its
// credsStore; nullopt when the file does not exist or has none of them.
Found read_auth_file(const std::filesystem::path& file, std::string_view host,
                     const EnvLookup& env) {
  auto text = fs::read_file(file);
  if (!text.ok()) {
    if (text.error().code == Errc::not_found) {
      return none();
    }
    return make_error(text.error().code,
                      fmt::format("registry credentials: {}", text.error().message));
  }
  // The parser's own message quotes the text it stopped at, which may be a password: only the
  // file is named.
  auto j = Json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Errc::invalid,
                      fmt::format("registry credentials for {}: {} is not a JSON object; fix it "
                                  "or remove it (podman login and docker login write it again)",
                                  host, file.string()));
  }
  ZTP_ASSIGN_OR_RETURN(const Json* helpers, object_member(j, "credHelpers", file));
  if (auto entry = helpers != nullptr ? find_entry(*helpers, host) : std::nullopt) {
    if (!entry->value->is_string()) {
      return make_error(Errc::invalid, fmt::format("{}: credHelpers[\"{}\"] is not a string",
                                                   file.string(), entry->key));
    }
    return ask_helper(entry->value->get<std::string>(), host, file, env);
  }
  ZTP_ASSIGN_OR_RETURN(const Json* auths, object_member(j, "auths", file));
  if (auto entry = auths != nullptr ? find_entry(*auths, host) : std::nullopt) {
    ZTP_ASSIGN_OR_RETURN(auto found, read_auths_entry(*entry, file));
    if (found) {
      return found;
    }
  }
  if (auto store = string_member(j, "credsStore"); !store.empty()) {
    return ask_helper(store, host, file, env);
  }
  return none();
}

// The credentials files, in the order containers-auth.json(5) and docker read them.
std::vector<std::filesystem::path> auth_files(const EnvLookup& env) {
  std::vector<std::filesystem::path> files;
  if (auto file = env_value(env, k_env_registry_auth_file); !file.empty()) {
    files.emplace_back(file);
  }
  if (auto runtime = env_value(env, "XDG_RUNTIME_DIR"); !runtime.empty()) {
    files.push_back(std::filesystem::path(runtime) / "containers" / "auth.json");
  }
  const std::string home = env_value(env, "HOME");
  if (!home.empty()) {
    files.push_back(std::filesystem::path(home) / ".config" / "containers" / "auth.json");
  }
  if (auto docker = env_value(env, k_env_docker_config); !docker.empty()) {
    files.push_back(std::filesystem::path(docker) / "config.json");
  } else if (!home.empty()) {
    files.push_back(std::filesystem::path(home) / ".docker" / "config.json");
  }
  return files;
}

}  // namespace

RegistryAuth RegistryAuth::from_environment() {
  RegistryAuth a;
  a.username = env(k_env_registry_username);
  a.password = env(k_env_registry_password);
  a.token = env(k_env_registry_token);
  return a;
}

std::optional<std::string> process_environment(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
}

Result<RegistryAuth> RegistryAuth::for_registry(std::string_view host, const EnvLookup& env) {
  RegistryAuth given{env_value(env, k_env_registry_username),
                     env_value(env, k_env_registry_password), env_value(env, k_env_registry_token)};
  // Settings made for ztp itself win over what a login left behind.
  if (!given.username.empty() || !given.token.empty()) {
    return given;
  }
  for (const auto& file : auth_files(env)) {
    ZTP_ASSIGN_OR_RETURN(auto found, read_auth_file(file, host, env));
    if (found) {
      log::debug("registry credentials",
                 {{"registry", std::string(host)}, {"from", file.string()}});
      return std::move(*found);
    }
  }
  return RegistryAuth{};
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
    ch.scheme = text::to_lower(scheme);
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
