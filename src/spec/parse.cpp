#include "spec/parse.hpp"

#include <fmt/format.h>

#include <yaml-cpp/eventhandler.h>
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "spec/address.hpp"
#include "spec/reader.hpp"
#include "spec/sections.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"

namespace ztp::spec {
namespace detail {
namespace {

const char* k_registry_hint =
    "use local, oci://host[:port]/repo or ecr://ACCOUNT.dkr.ecr.REGION.amazonaws.com/repo";

bool is_env_name(const std::string& name) {
  static const std::regex k_name("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(name, k_name);
}

// Reports variable names that a process environment cannot hold.
void check_env_names(Reader& r, const Value& v, const std::map<std::string, std::string>& env) {
  for (const auto& [name, value] : env) {
    if (!is_env_name(name)) {
      r.error(v.pos,
              fmt::format("`{}` in {} is not a valid environment variable name", name, v.name),
              "use letters, digits and _, not starting with a digit");
    }
  }
}

// A list of globs, each checked where it is written.
void read_globs(Reader& r, const Fields& f, const std::string& key, std::vector<std::string>& out) {
  auto v = f.get(key);
  auto items = v ? r.list(*v) : std::nullopt;
  for (const auto& item : items.value_or(std::vector<Value>{})) {
    auto glob = r.string(item);
    if (!glob) {
      continue;
    }
    if (auto valid = validate_glob(*glob); !valid.ok()) {
      r.error(item.pos, fmt::format("{}: {}", key, valid.error().message),
              "`**` spans directories, `*` and `?` stay within a name, like src/**/*.conf");
      continue;
    }
    out.push_back(std::move(*glob));
  }
}

// A path that must stay inside its root: relative, without `..`.
void read_inner_path(Reader& r, const Value& v, std::string& out) {
  auto path = r.string(v);
  if (!path) {
    return;
  }
  std::filesystem::path p(*path);
  bool escapes = p.is_absolute() || path->empty();
  for (const auto& part : p) {
    escapes = escapes || part == "..";
  }
  if (escapes) {
    r.error(v.pos,
            fmt::format("{} `{}` must be a relative path inside the repository", v.name, *path),
            "write it relative to the repository root, without `..`");
    return;
  }
  out = std::move(*path);
}

void parse_source(Reader& r, const Value& v, Source& out) {
  Fields f(r, v, "source",
           {"repo", "branch", "paths", "poll_interval", "webhook_secret", "github_repository"});
  if (auto repo = f.get("repo")) {
    if (auto s = r.string(*repo)) {
      if (s->empty()) {
        r.error(repo->pos, "repo must not be empty", "write `.` for the directory of ztp.yaml");
      } else {
        out.repo = std::move(*s);
      }
    }
  }
  if (auto branch = f.get("branch")) {
    if (auto s = r.string(*branch)) {
      if (s->empty() || s->front() == '-' || s->find("..") != std::string::npos ||
          s->find_first_of(" \t~^:?*[\\") != std::string::npos) {
        r.error(branch->pos, fmt::format("`{}` is not a valid branch name", *s));
      } else {
        out.branch = std::move(*s);
      }
    }
  }
  read_globs(r, f, "paths", out.paths);
  f.read_duration("poll_interval", out.poll_interval, false);
  f.read("webhook_secret", out.webhook_secret);
  if (auto name = f.get("github_repository")) {
    static const std::regex k_full_name("[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+");
    if (auto s = r.string(*name)) {
      if (!std::regex_match(*s, k_full_name)) {
        r.error(name->pos, fmt::format("github_repository `{}` is not owner/name", *s),
                "write the repository as GitHub names it, like octo/site");
      } else {
        out.github_repository = std::move(*s);
      }
    }
  }
}

void parse_build(Reader& r, const Value& v, Build& out) {
  Fields f(r, v, "build",
           {"context", "exclude", "entrypoint", "command", "env", "templates", "from", "dockerfile",
            "args", "platforms", "compression"});
  if (auto context = f.get("context")) {
    read_inner_path(r, *context, out.context);
  }
  read_globs(r, f, "exclude", out.exclude);
  f.read("entrypoint", out.entrypoint);
  f.read("command", out.command);
  if (auto env = f.get("env")) {
    if (auto map = r.string_map(*env)) {
      check_env_names(r, *env, *map);
      out.env = std::move(*map);
    }
  }
  if (auto templates = f.get("templates")) {
    if (auto items = r.list(*templates)) {
      for (auto& item : *items) {
        item.name = "template";
        std::string path;
        read_inner_path(r, item, path);
        if (!path.empty()) {
          out.templates.push_back(std::move(path));
        }
      }
    }
  }
  if (auto from = f.get("from")) {
    out.from_pos = from->pos;
    if (auto s = r.string(*from)) {
      if (s->empty() || s->find_first_of(" \t\n") != std::string::npos) {
        r.error(from->pos, fmt::format("build.from `{}` is not an image reference", *s),
                "write a registry reference (nginx:1.25, host:5000/base@sha256:...) or an OCI "
                "layout as oci:PATH[:TAG]");
      } else {
        out.from = std::move(*s);
      }
    }
  }
  if (auto dockerfile = f.get("dockerfile")) {
    out.dockerfile_pos = dockerfile->pos;
    if (auto s = r.string(*dockerfile); s && *s == "none") {
      out.dockerfile = "none";
    } else {
      read_inner_path(r, *dockerfile, out.dockerfile);
    }
  }
  if (auto args = f.get("args")) {
    if (auto map = r.string_map(*args)) {
      check_env_names(r, *args, *map);
      out.args = std::move(*map);
    }
  }
  if (auto platforms = f.get("platforms")) {
    if (auto items = r.list(*platforms)) {
      static const std::regex k_platform(
          "linux/(amd64|arm64|arm|386|ppc64le|s390x|riscv64)(/v[0-9])?");
      for (auto& item : *items) {
        auto p = r.string(item);
        if (!p) {
          continue;
        }
        if (!std::regex_match(*p, k_platform)) {
          r.error(item.pos, fmt::format("platform `{}` is not os/arch[/variant]", *p),
                  "write linux/amd64 or linux/arm64 (linux/arm/v7 for 32-bit ARM)");
        } else {
          out.platforms.push_back(std::move(*p));
        }
      }
    }
  }
  if (auto compression = f.get("compression")) {
    if (auto c = r.choice(*compression, "build.compression", {"gzip", "zstd"})) {
      out.compression = std::move(*c);
    }
  }
}

void parse_registry_value(Reader& r, const Value& v, Registry& out) {
  auto text = r.string(v);
  if (!text) {
    return;
  }
  auto registry = spec::parse_registry(*text);
  if (!registry.ok()) {
    r.error(v.pos, fmt::format("bad registry `{}`: {}", *text, registry.error().message),
            k_registry_hint);
    return;
  }
  out = std::move(*registry);
  out.pos = v.pos;
}

void parse_service(Reader& r, const Value& v, Service& out) {
  Fields f(r, v, "service",
           {"port", "port_range", "health", "start_timeout", "stop_timeout", "drain_timeout"});
  f.read("port", out.port, 1, 65535);
  if (auto range = f.get("port_range")) {
    if (auto text = r.string(*range)) {
      auto parsed = parse_port_range(*text);
      if (!parsed.ok()) {
        r.error(range->pos, fmt::format("bad port_range: {}", parsed.error().message),
                "replica ports of the local target come from this range");
      } else {
        out.port_range_first = parsed->first;
        out.port_range_last = parsed->second;
      }
    }
  }
  if (auto health = f.get("health")) {
    Fields h(r, *health, "health",
             {"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold"});
    if (auto path = h.get("path")) {
      if (auto s = r.string(*path)) {
        if (s->empty() || s->front() != '/') {
          r.error(path->pos, fmt::format("health path `{}` must start with `/`", *s),
                  "like /health");
        } else {
          out.health.path = std::move(*s);
        }
      }
    }
    h.read_duration("interval", out.health.interval, false);
    h.read_duration("timeout", out.health.timeout, false);
    h.read("healthy_threshold", out.health.healthy_threshold, 1, 1000);
    h.read("unhealthy_threshold", out.health.unhealthy_threshold, 1, 1000);
  }
  f.read_duration("start_timeout", out.start_timeout, false);
  f.read_duration("stop_timeout", out.stop_timeout, true);
  f.read_duration("drain_timeout", out.drain_timeout, true);
}

void parse_notify(Reader& r, const Value& v, const std::vector<Environment>& envs,
                  std::vector<Notifier>& out) {
  auto items = r.list(v);
  if (!items) {
    return;
  }
  for (auto& item : *items) {
    item.name = "notifier";
    Notifier n;
    n.pos = item.pos;
    Fields f(r, item, "notifier",
             {"type", "url", "routing_key", "secret", "events", "page_manual_rollbacks"});
    if (!f.ok()) {
      continue;
    }
    std::optional<std::string> type;
    if (auto t = f.require("type", "write type: slack, pagerduty or webhook")) {
      type = r.choice(*t, "notify type", {"slack", "pagerduty", "webhook"});
    }
    if (type) {
      n.kind = *type == "slack"       ? Notifier::Kind::slack
               : *type == "pagerduty" ? Notifier::Kind::pagerduty
                                      : Notifier::Kind::webhook;
    }
    std::optional<Value> url;
    if (type && *type != "pagerduty") {
      url = f.require("url", "write url: https://..., or ${VAR} to read it from the environment");
    } else {
      url = f.get("url");
    }
    if (url) {
      if (auto s = r.string(*url)) {
        if (!is_http_url(*s)) {
          r.error(url->pos, fmt::format("url `{}` is not an http:// or https:// URL", *s));
        } else {
          n.url = std::move(*s);
        }
      }
    }
    if (type && *type == "pagerduty") {
      if (auto key = f.require("routing_key", "the integration key of a PagerDuty service")) {
        if (auto s = r.string(*key)) {
          n.routing_key = std::move(*s);
        }
      }
    } else {
      f.read("routing_key", n.routing_key);
    }
    f.read("secret", n.secret);
    if (auto events = f.get("events")) {
      if (auto list = r.list(*events)) {
        for (const auto& e : *list) {
          auto name = r.string(e);
          if (name && (name->empty() || name->find_first_not_of("abcdefghijklmnopqrstuvwxyz_") !=
                                            std::string::npos)) {
            r.error(e.pos, fmt::format("`{}` is not an event name", *name),
                    "event names are lower-case words joined by _, like run_failed");
          } else if (name) {
            n.events.push_back(std::move(*name));
          }
        }
      }
    }
    if (auto pages = f.get("page_manual_rollbacks")) {
      if (type && *type != "pagerduty") {
        r.error(pages->pos, "page_manual_rollbacks applies to pagerduty notifiers only");
      } else if (auto list = r.list(*pages)) {
        n.page_manual_rollbacks.emplace();
        for (const auto& e : *list) {
          auto name = r.string(e);
          if (!name) {
            continue;
          }
          bool known = std::any_of(envs.begin(), envs.end(),
                                   [&](const Environment& env) { return env.name == *name; });
          if (!known) {
            r.error(e.pos, fmt::format("unknown environment `{}` in page_manual_rollbacks", *name),
                    "name environments listed under `environments`");
          } else {
            n.page_manual_rollbacks->push_back(std::move(*name));
          }
        }
      }
    }
    out.push_back(std::move(n));
  }
}

void parse_document(Reader& r, const YAML::Node& root, Spec& spec) {
  Value top{root, "the document", Reader::position(root.Mark()), {1, 1}};
  Fields f(r, top, "ztp.yaml",
           {"app", "source", "build", "registry", "service", "checks", "environments", "notify"});
  if (!f.ok()) {
    return;
  }
  if (auto app = f.require("app", "add `app: my-app` at the top level")) {
    if (auto s = r.string(*app); s && check_name(r, *s, "app name", app->pos)) {
      spec.app = std::move(*s);
    }
  }
  if (auto source = f.get("source")) {
    parse_source(r, *source, spec.source);
  }
  if (auto build = f.get("build")) {
    parse_build(r, *build, spec.build);
  }
  if (auto registry = f.get("registry")) {
    parse_registry_value(r, *registry, spec.registry);
  }
  if (auto service = f.get("service")) {
    parse_service(r, *service, spec.service);
  }
  if (auto checks = f.get("checks")) {
    parse_checks(r, *checks, spec.checks);
  }
  std::vector<EnvironmentMarks> marks;
  if (auto envs = f.require("environments",
                            "list them in promotion order: `- name: dev` with a `listen:`")) {
    parse_environments(r, *envs, spec.environments, marks);
  }
  if (auto notify = f.get("notify")) {
    parse_notify(r, *notify, spec.environments, spec.notify);
  }
  check_environments(r, spec, marks);
}

}  // namespace

bool check_name(Reader& r, const std::string& name, const std::string& what, Position at) {
  static const std::regex k_label("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  if (std::regex_match(name, k_label)) {
    return true;
  }
  r.error(at, fmt::format("{} `{}` must be lower-case letters, digits and `-`", what, name),
          "at most 63 characters, not starting or ending with `-`, like sample-site");
  return false;
}

// The marks of the root nodes of the first two documents of a YAML stream (what
// YAML::LoadAll(text)[i].Mark() gives), reading no further. LoadAll is not used: on a stream
// that starts with a flow entry (",") yaml-cpp 0.7 returns an empty document at the same place
// forever.
class DocumentRoots final : public YAML::EventHandler {
 public:
  explicit DocumentRoots(std::string_view text) {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    while (m_roots.size() < 2 && parser.HandleNextDocument(*this)) {
    }
  }
  const std::vector<YAML::Mark>& roots() const { return m_roots; }

  void OnDocumentStart(const YAML::Mark&) override { m_root_seen = false; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (!m_root_seen) {
      m_roots.push_back(mark);
      m_root_seen = true;
    }
  }

  std::vector<YAML::Mark> m_roots;
  bool m_root_seen = false;
};

}  // namespace detail

std::string to_string(const Diagnostic& d) {
  std::string out = fmt::format("{}:{}:{}: {}", d.file, d.line, d.column, d.message);
  if (!d.hint.empty()) {
    out += fmt::format(" ({})", d.hint);
  }
  return out;
}

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

ParseOutcome parse_spec(std::string_view text, const std::string& file_name,
                        const LookupEnv& lookup_env) {
  detail::Reader r(file_name, lookup_env);
  ParseOutcome outcome;
  Spec spec;
  spec.file = file_name;
  try {
    const detail::DocumentRoots documents(text);
    const auto& roots = documents.roots();
    YAML::Node doc = roots.empty() ? YAML::Node() : YAML::Load(std::string(text));
    if (roots.size() > 1 && roots[1].pos == roots[0].pos) {
      // The parser reads nothing: a stream that yaml-cpp cannot start (see DocumentRoots).
      r.error(detail::Reader::position(roots[0]), "YAML syntax error: unexpected character",
              "check the indentation and quoting around this point");
    } else if (doc.IsNull()) {
      r.error({1, 1}, "the file is empty",
              "start with `app:` and `environments:`; `ztp init` writes an example");
    } else {
      if (roots.size() > 1) {
        r.error(detail::Reader::position(roots[1]), "ztp.yaml holds more than one YAML document",
                "remove the `---` separator");
      }
      detail::parse_document(r, doc, spec);
    }
  } catch (const YAML::Exception& e) {
    r.error(detail::Reader::position(e.mark), fmt::format("YAML syntax error: {}", e.msg),
            "check the indentation and quoting around this point");
  } catch (const std::exception& e) {
    r.error({1, 1}, fmt::format("cannot read the spec: {}", e.what()));
  }
  outcome.diagnostics = r.take_diagnostics();
  if (outcome.diagnostics.empty()) {
    outcome.spec = std::move(spec);
  }
  return outcome;
}

Result<ParseOutcome> read_spec(const std::filesystem::path& path) {
  auto text = fs::read_file(path);
  if (!text.ok()) {
    if (text.error().code == Errc::not_found) {
      return make_error(Errc::not_found,
                        fmt::format("{}: no such file; run `ztp init` to write one, or pass -f "
                                    "PATH to name another",
                                    path.string()));
    }
    return text.take_error();
  }
  ParseOutcome outcome = parse_spec(*text, path.string(), process_env);
  if (outcome.spec) {
    outcome.spec->file = std::filesystem::absolute(path).lexically_normal();
  }
  return outcome;
}

Result<Spec> load_spec(const std::filesystem::path& path) {
  ParseOutcome outcome;
  ZTP_ASSIGN_OR_RETURN(outcome, read_spec(path));
  if (!outcome.spec) {
    std::string message;
    for (const auto& d : outcome.diagnostics) {
      if (!message.empty()) {
        message += '\n';
      }
      message += to_string(d);
    }
    return make_error(Errc::invalid, std::move(message));
  }
  return std::move(*outcome.spec);
}

}  // namespace ztp::spec
