#include "source/webhook.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "source/git_fetch.hpp"
#include "source/git_repo.hpp"
#include "sys/crypto.hpp"

namespace ztp::source {
namespace {

using nlohmann::json;

constexpr std::string_view k_signature_prefix = "sha256=";
constexpr size_t k_sha256_size = 32;  // bytes of an HMAC-SHA256

// Reads payload fields, naming the first that is missing or of the wrong type.
class Fields {
 public:
  Fields(const json& object, std::string where) : m_object(object), m_where(std::move(where)) {}

  Result<std::string> string(const char* key, bool required = true) const {
    auto it = m_object.find(key);
    if (it == m_object.end() || it->is_null()) {
      if (required) {
        return missing(key);
      }
      return std::string();
    }
    if (!it->is_string()) {
      return wrong_type(key, "a string");
    }
    return it->get<std::string>();
  }

  Result<bool> boolean(const char* key) const {
    auto it = m_object.find(key);
    if (it == m_object.end() || it->is_null()) {
      return false;
    }
    if (!it->is_boolean()) {
      return wrong_type(key, "true or false");
    }
    return it->get<bool>();
  }

  Result<std::vector<std::string>> strings(const char* key) const {
    auto it = m_object.find(key);
    std::vector<std::string> out;
    if (it == m_object.end() || it->is_null()) {
      return out;
    }
    if (!it->is_array()) {
      return wrong_type(key, "an array of paths");
    }
    for (const auto& v : *it) {
      if (!v.is_string()) {
        return wrong_type(key, "an array of paths");
      }
      out.push_back(v.get<std::string>());
    }
    return out;
  }

  Error missing(std::string_view key) const {
    return make_error(Errc::invalid, fmt::format("push payload: {}{} is missing", m_where, key));
  }
  Error wrong_type(std::string_view key, std::string_view expected) const {
    return make_error(Errc::invalid,
                      fmt::format("push payload: {}{} is not {}", m_where, key, expected));
  }

 private:
  const json& m_object;
  std::string m_where;  // "" or "commits[2]." ...
};

Result<json> parse_object(std::string_view body, std::string_view event,
                          const json::parser_callback_t& filter = nullptr) {
  json doc = json::parse(body, filter, false);
  if (doc.is_discarded()) {
    return make_error(Errc::invalid,
                      fmt::format("{} payload is not valid JSON; GitHub sends "
                                  "application/json: set the webhook's content type to it",
                                  event));
  }
  if (!doc.is_object()) {
    return make_error(Errc::invalid, fmt::format("{} payload is not a JSON object", event));
  }
  return doc;
}

Result<PushCommit> parse_commit(const json& c, const std::string& where) {
  if (!c.is_object()) {
    return make_error(Errc::invalid, fmt::format("push payload: {} is not an object", where));
  }
  Fields f(c, where + ".");
  PushCommit out;
  ZTP_ASSIGN_OR_RETURN(out.id, f.string("id"));
  ZTP_ASSIGN_OR_RETURN(out.message, f.string("message", false));
  if (auto a = c.find("author"); a != c.end() && a->is_object()) {
    std::string name = a->value("name", "");
    std::string email = a->value("email", "");
    out.author = email.empty() ? name : fmt::format("{} <{}>", name, email);
  }
  for (auto [key, list] : {std::pair{"added", &out.added}, std::pair{"modified", &out.modified},
                           std::pair{"removed", &out.removed}}) {
    ZTP_ASSIGN_OR_RETURN(*list, f.strings(key));
  }
  return out;
}

bool is_name_part(std::string_view part) {
  return !part.empty() && part != "." && part != ".." &&
         std::all_of(part.begin(), part.end(), [](unsigned char c) {
           return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
         });
}

// Keeps only the parts of a push payload that parse_push_event reads, so that a large payload
// (GitHub sends up to 25 MB) is not held a second time as a whole document: `repository` keeps
// its names, each commit its id, message, author and paths; `sender`, `pusher`, URLs and the
// rest are dropped as they are read.
class PushFilter {
 public:
  bool operator()(int depth, json::parse_event_t event, const json& parsed) {
    if (event != json::parse_event_t::key) {
      return true;
    }
    const auto& key = parsed.get_ref<const std::string&>();
    if (depth == 1) {
      m_top = key;
      return k_top.contains(key);
    }
    if (depth == 2 && m_top == "repository") {
      return key == "full_name" || key == "clone_url";
    }
    if ((depth == 2 && m_top == "head_commit") || (depth == 3 && m_top == "commits")) {
      return k_commit.contains(key);
    }
    return true;
  }

 private:
  inline static const std::set<std::string, std::less<>> k_top{
      "ref",    "before",     "after",   "created",    "deleted",
      "forced", "repository", "commits", "head_commit"};
  inline static const std::set<std::string, std::less<>> k_commit{"id",    "message",  "author",
                                                                  "added", "modified", "removed"};
  std::string m_top;
};

}  // namespace

std::optional<std::string> repository_of_url(std::string_view url) {
  if (!is_remote_repo(url)) {
    return std::nullopt;
  }
  std::string clean = strip_credentials(url);
  std::string_view path;
  if (size_t scheme = clean.find("://"); scheme != std::string::npos) {
    if (clean.compare(0, scheme, "file") == 0) {
      return std::nullopt;
    }
    size_t slash = clean.find('/', scheme + 3);
    if (slash == std::string::npos) {
      return std::nullopt;
    }
    path = std::string_view(clean).substr(slash);
  } else {
    path = std::string_view(clean).substr(clean.find(':') + 1);  // scp-like [user@]host:path
  }
  while (path.starts_with('/')) {
    path.remove_prefix(1);
  }
  while (path.ends_with('/')) {
    path.remove_suffix(1);
  }
  if (path.ends_with(".git")) {
    path.remove_suffix(4);
  }
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view owner = path.substr(0, slash);
  std::string_view name = path.substr(slash + 1);
  if (!is_name_part(owner) || !is_name_part(name)) {
    return std::nullopt;
  }
  return std::string(path);
}

std::optional<std::string> webhook_repository(const spec::Source& source) {
  if (!source.github_repository.empty()) {
    return source.github_repository;
  }
  return repository_of_url(source.repo);
}

bool same_repository(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string webhook_secret(const spec::Source& source) {
  const char* env = std::getenv(k_webhook_secret_env);
  if (env != nullptr && *env != '\0') {
    return env;
  }
  return source.webhook_secret;
}

Result<void> verify_signature(std::string_view secret, std::string_view body,
                              std::string_view header) {
  if (header.empty()) {
    return make_error(Errc::invalid,
                      "missing X-Hub-Signature-256 header: give the webhook a secret in GitHub's "
                      "settings, the same as source.webhook_secret or ZTP_WEBHOOK_SECRET");
  }
  if (!header.starts_with(k_signature_prefix)) {
    return make_error(Errc::invalid,
                      "X-Hub-Signature-256 does not start with sha256=: it must be "
                      "sha256=<64 hex digits>");
  }
  std::string_view hex = header.substr(k_signature_prefix.size());
  if (hex.size() != k_sha256_size * 2) {
    return make_error(
        Errc::invalid,
        fmt::format("X-Hub-Signature-256 has {} hex digits after sha256=, not 64", hex.size()));
  }
  auto given = sys::from_hex(hex);
  if (!given) {
    return make_error(Errc::invalid,
                      "X-Hub-Signature-256 is not sha256=<64 hex digits>: a character after "
                      "sha256= is not a hex digit");
  }
  if (!sys::constant_time_equal(*given, sys::hmac_sha256(secret, body))) {
    return make_error(Errc::refused,
                      "X-Hub-Signature-256 does not match the body: the webhook's secret in "
                      "GitHub differs from source.webhook_secret (or ZTP_WEBHOOK_SECRET)");
  }
  return {};
}

std::string PushCommit::summary() const {
  std::string line = message.substr(0, message.find('\n'));
  auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
  line.erase(line.begin(), std::find_if(line.begin(), line.end(), not_space));
  line.erase(std::find_if(line.rbegin(), line.rend(), not_space).base(), line.end());
  return line;
}

std::optional<std::string> PushEvent::branch() const {
  constexpr std::string_view k_heads = "refs/heads/";
  if (!ref.starts_with(k_heads)) {
    return std::nullopt;
  }
  return ref.substr(k_heads.size());
}

std::vector<std::string> PushEvent::changed_paths() const {
  std::set<std::string> paths;
  auto add = [&paths](const PushCommit& c) {
    paths.insert(c.added.begin(), c.added.end());
    paths.insert(c.modified.begin(), c.modified.end());
    paths.insert(c.removed.begin(), c.removed.end());
  };
  for (const auto& c : commits) {
    add(c);
  }
  if (commits.empty() && head_commit) {
    add(*head_commit);
  }
  return {paths.begin(), paths.end()};
}

Result<PushEvent> parse_push_event(std::string_view body) {
  ZTP_ASSIGN_OR_RETURN(auto doc, parse_object(body, "push", PushFilter()));
  Fields f(doc, "");
  PushEvent out;
  for (auto [key, field] : {std::pair{"ref", &out.ref}, std::pair{"before", &out.before},
                            std::pair{"after", &out.after}}) {
    ZTP_ASSIGN_OR_RETURN(*field, f.string(key));
  }
  for (auto [key, field] : {std::pair{"created", &out.created}, std::pair{"deleted", &out.deleted},
                            std::pair{"forced", &out.forced}}) {
    ZTP_ASSIGN_OR_RETURN(*field, f.boolean(key));
  }
  auto repo = doc.find("repository");
  if (repo == doc.end() || repo->is_null()) {
    return f.missing("repository");
  }
  if (!repo->is_object()) {
    return f.wrong_type("repository", "an object");
  }
  Fields rf(*repo, "repository.");
  ZTP_ASSIGN_OR_RETURN(out.repository, rf.string("full_name"));
  ZTP_ASSIGN_OR_RETURN(out.clone_url, rf.string("clone_url", false));

  auto commits = doc.find("commits");
  if (commits == doc.end() || commits->is_null()) {
    return f.missing("commits");
  }
  if (!commits->is_array()) {
    return f.wrong_type("commits", "an array");
  }
  for (size_t i = 0; i < commits->size(); ++i) {
    ZTP_ASSIGN_OR_RETURN(auto c, parse_commit((*commits)[i], fmt::format("commits[{}]", i)));
    out.commits.push_back(std::move(c));
  }
  if (auto head = doc.find("head_commit"); head != doc.end() && !head->is_null()) {
    ZTP_ASSIGN_OR_RETURN(out.head_commit, parse_commit(*head, "head_commit"));
  }
  return out;
}

Result<PingEvent> parse_ping_event(std::string_view body) {
  ZTP_ASSIGN_OR_RETURN(auto doc, parse_object(body, "ping"));
  PingEvent out;
  if (auto zen = doc.find("zen"); zen != doc.end() && zen->is_string()) {
    out.zen = zen->get<std::string>();
  }
  if (auto id = doc.find("hook_id"); id != doc.end() && id->is_number_integer()) {
    out.hook_id = id->get<int64_t>();
  }
  return out;
}

}  // namespace ztp::source
