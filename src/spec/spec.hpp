#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

// The model of ztp.yaml after parsing, `${VAR}` expansion, defaults and validation.
// docs/ztp-yaml.md is the reference for every field; keep the two in step.
namespace ztp::spec {

using Duration = std::chrono::milliseconds;

// Where a value came from in ztp.yaml (1-based; 0 when defaulted).
struct Position {
  int line = 0;
  int column = 0;
};

// What triggers a run: pushes to `branch` that change a path matching one of `paths`.
struct Source {
  std::string repo = ".";  // the application repository, relative to ztp.yaml
  std::string branch = "main";
  std::vector<std::string> paths;  // globs with `**`; empty: every path triggers
  Duration poll_interval = std::chrono::seconds(30);
  // HMAC-SHA256 key of push webhooks (`ztp serve`); ZTP_WEBHOOK_SECRET overrides it. With
  // neither, the controller refuses webhooks.
  std::string webhook_secret;
  // The GitHub repository ("owner/name") whose push webhooks start runs, for a `repo` that
  // does not name it (a local path); "" when not given.
  std::string github_repository;
};

// How the image is built from the build context (read from the committed git tree).
struct Build {
  std::string context = ".";               // relative to the repository root
  std::vector<std::string> exclude;        // globs, relative to the context
  std::vector<std::string> entrypoint;     // image entrypoint
  std::vector<std::string> command;        // what a replica runs (args are templates)
  std::map<std::string, std::string> env;  // image env
  std::vector<std::string> templates;      // files rendered per replica ({{port}}, ...)
  // The base image below the context's layer: a registry reference (`nginx:1.25`,
  // `host:5000/base@sha256:...`) or an OCI image layout (`oci:PATH[:TAG]`, relative to the
  // spec's directory). Empty: no base (or the Dockerfile's FROM).
  std::string from;
  Position from_pos;
  // The Dockerfile that describes the image, relative to the context. Empty: `Dockerfile` at
  // the context root when there is one and `from` is empty; "none" never reads one.
  std::string dockerfile;
  Position dockerfile_pos;
  std::map<std::string, std::string> args;  // Dockerfile build args (ARG), beside --build-arg
  std::vector<std::string> platforms;       // "linux/amd64"; empty: the host's
  std::string compression = "gzip";         // the layers' compression: "gzip" or "zstd"
};

// Where images are stored.
struct Registry {
  enum class Kind { local, oci, ecr };
  Kind kind = Kind::local;
  std::string url = "local";  // as written: local | oci://host[:port]/repo | ecr://...
  std::string host;           // oci, ecr: host[:port]
  std::string repository;     // oci, ecr: path after the host
  std::string account;        // ecr
  std::string region;         // ecr
  Position pos;
};

// The replica's health endpoint and how it is judged.
struct Health {
  std::string path = "/health";
  Duration interval = std::chrono::seconds(2);
  Duration timeout = std::chrono::seconds(1);
  int healthy_threshold = 1;    // consecutive passes to become healthy
  int unhealthy_threshold = 3;  // consecutive failures to become unhealthy
};

// How one replica of the application is served.
struct Service {
  int port = 8080;               // the port the image exposes
  int port_range_first = 20000;  // local target: replica ports come from here
  int port_range_last = 29999;
  Health health;
  Duration start_timeout = std::chrono::seconds(60);  // to become healthy, else the rollout fails
  Duration stop_timeout = std::chrono::seconds(10);   // SIGTERM, then SIGKILL
  Duration drain_timeout = std::chrono::seconds(30);  // in-flight requests of a leaving replica
};

// When a failed probe is tried again, and when to stop trying.
struct Retry {
  int attempts = 3;
  Duration interval = std::chrono::seconds(1);
  double backoff = 2.0;  // multiplier between attempts
  Duration max_interval = std::chrono::seconds(10);
  bool jitter = true;
  Duration deadline = std::chrono::seconds(60);
  int circuit_breaker = 5;  // open after this many consecutive failures (0: never)
};

// An expectation on a response header: present, equal to a value, or matching a regex.
struct HeaderExpectation {
  std::string name;
  std::optional<std::string> equals;
  std::optional<std::string> matches;
  bool present = true;  // false: the header must be absent (`present: false`)
};

// One HTTP probe with its expectations.
struct Check {
  std::string name;  // defaults to "METHOD path"
  std::string method = "GET";
  std::string path = "/";
  std::map<std::string, std::string> headers;
  std::string body;
  std::vector<int> expect_status{200};
  std::vector<std::string> body_contains;
  std::optional<std::string> body_regex;
  std::vector<HeaderExpectation> expect_headers;
  std::optional<Duration> max_latency;
  std::optional<int> min_cert_days;  // https: days left on the certificate
  Retry retry;
  Position pos;
};

// A named list of checks that environments verify with.
struct CheckSuite {
  std::string name;
  std::vector<Check> checks;
  Position pos;
};

struct Rolling {
  int max_surge = 1;
  int max_unavailable = 0;
};

struct BlueGreen {
  std::string preview_listen;  // host:port where the new set is verified before the switch
  Duration keep_previous = std::chrono::minutes(10);
};

struct CanaryStep {
  int weight = 0;  // 1-100, increasing
  Duration pause = std::chrono::seconds(30);
};

// Judgement of a canary's live traffic at each step.
struct Analysis {
  double max_error_rate = 0.01;  // 5xx and connect errors / requests
  Duration max_p95 = std::chrono::milliseconds(500);
  int min_requests = 20;
  Duration deadline = std::chrono::minutes(5);  // inconclusive steps wait up to this long
  bool pass_when_inconclusive = false;
};

struct Canary {
  std::vector<CanaryStep> steps;
  Analysis analysis;
};

// Live traffic of a release kept under analysis for `window` after its rollout completes; a
// breach rolls the environment back to what ran before. Off when window is 0 (the default).
// Only the absolute limits of `limits` apply (max_error_rate, max_p95, min_requests): nothing
// else takes traffic to compare with.
struct Watch {
  Duration window{0};
  Analysis limits;
  bool enabled() const { return window.count() > 0; }
};

struct Strategy {
  enum class Kind { rolling, blue_green, canary };
  Kind kind = Kind::rolling;
  Rolling rolling;
  BlueGreen blue_green;
  Canary canary;
};

enum class Gate { automatic, approval };

constexpr int k_minutes_per_week = 7 * 24 * 60;

// A weekly span of local time when deploys are refused, e.g. Friday 16:00 to Monday 08:00.
struct DenyWindow {
  int from = 0;        // minute of the week it starts, Monday 00:00 = 0 (0..10079)
  int to = 0;          // minute of the week it ends (exclusive); less than `from`: wraps the week
  std::string reason;  // shown while it holds a run; defaults to the span as written
  Position pos;
};

// When an environment refuses deploys, in the local time of one IANA time zone. A run reaching
// the environment's gate inside a `deny` span waits until the span ends.
struct DeployWindows {
  std::string timezone;  // "Europe/Berlin", "UTC"; required when `deny` lists a span
  std::vector<DenyWindow> deny;
  Position pos;
  bool enabled() const { return !deny.empty(); }
};

// The TZif file of time zone `name` in the system's time zone database ($TZDIR, else
// /usr/share/zoneinfo). invalid when `name` is not a zone name; not_found when the zone or the
// whole database is missing (the message names the Debian package tzdata).
Result<std::filesystem::path> zoneinfo_file(const std::string& name);
// A minute of the week as written in ztp.yaml: 5 * 1440 + 16 * 60 -> "Sat 16:00".
std::string format_week_minute(int minute);

// What one replica may use, on targets that can limit it (podman). 0: no limit.
struct Resources {
  double cpus = 0;                // CPUs, fractions allowed: 0.5
  std::int64_t memory_bytes = 0;  // written as 256Mi, 1Gi, 512M
};

// Whether replicas of `target` listen on ports of this machine from service.port_range.
bool uses_port_range(const std::string& target);

// The `ecs:` block of a `target: ecs` environment (spec/ecs.hpp).
struct EcsSettings;

// One stage of promotion, in the order of ztp.yaml.
struct Environment {
  std::string name;
  std::string target = "local";  // local | podman | ecs | kubernetes
  std::string listen;            // front door, host:port; may be empty with target ecs
  int replicas = 1;
  Strategy strategy;
  Gate gate = Gate::automatic;
  std::vector<std::string> verify;  // check suite names, built-in or from `checks`
  Watch watch;                      // post-deploy analysis of live traffic
  bool self_heal = false;           // the controller repairs drift by itself
  Duration drift_interval = std::chrono::minutes(5);  // how often the controller checks drift
  DeployWindows deploy_windows;                       // when deploys wait at the gate
  std::map<std::string, std::string> env;             // replica environment
  Resources resources;                                // podman: --cpus and --memory
  // Set exactly when target is ecs; immutable once parsed, so copies of a Spec share it.
  std::shared_ptr<const EcsSettings> ecs;
  Position pos;
};

// Where events are announced.
struct Notifier {
  enum class Kind { slack, pagerduty, webhook };
  Kind kind = Kind::webhook;
  std::string url;
  std::string routing_key;          // pagerduty
  std::string secret;               // webhook: HMAC-SHA256 key
  std::vector<std::string> events;  // empty: all
  // pagerduty: the environments whose manual rollbacks page; nullopt: the last environment
  // (production, by the pipeline's order) only.
  std::optional<std::vector<std::string>> page_manual_rollbacks;
  Position pos;
};

struct Spec {
  std::filesystem::path file;  // the ztp.yaml this came from (absolute)
  std::string app;
  Source source;
  Build build;
  Registry registry;
  Service service;
  std::vector<CheckSuite> checks;
  std::vector<Environment> environments;
  std::vector<Notifier> notify;

  // nullptr when there is no such environment / suite.
  const Environment* find_environment(const std::string& name) const;
  const CheckSuite* find_suite(const std::string& name) const;
  // The directory of ztp.yaml; relative paths in the spec are relative to it.
  std::filesystem::path base_dir() const { return file.parent_path(); }
};

// The check suites the verifier provides without a definition under `checks`
// (`security_headers`, `error_pages`); `verify` may name them. Spec::find_suite only finds
// suites defined in ztp.yaml.
const std::vector<std::string>& builtin_suite_names();
// Whether `name` is one of builtin_suite_names().
bool is_builtin_suite(const std::string& name);

}  // namespace ztp::spec
