#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.hpp"
#include "spec/address.hpp"
#include "spec/parse.hpp"
#include "util/duration.hpp"
#include "verify/suites.hpp"
#include "verify/verifier.hpp"

namespace ztp::cli {
namespace {

struct VerifyOptions {
  std::string env;
  std::string suite;
  std::string url;
};

std::string environment_names(const spec::Spec& spec) {
  std::string out;
  for (const auto& env : spec.environments) {
    out += out.empty() ? "" : ", ";
    out += env.name;
  }
  return out.empty() ? "none" : out;
}

// One line per check, suite by suite, and a summary.
std::string verify_text(const std::string& env, const verify::Report& report) {
  size_t width = 0;
  for (const auto& suite : report.suites) {
    for (const auto& check : suite.checks) {
      width = std::max(width, check.name.size());
    }
  }
  std::string text = fmt::format("Verifying {} at {}\n", env, report.base_url);
  size_t total = 0;
  size_t passed = 0;
  for (const auto& suite : report.suites) {
    text += suite.name + "\n";
    for (const auto& check : suite.checks) {
      ++total;
      passed += check.passed ? 1 : 0;
      std::string line = fmt::format("  {} {:<{}}  {:>6} ms", check.passed ? "✓" : "✗", check.name,
                                     width, check.latency.count());
      if (!check.passed) {
        line += "  " + check.reason;
      }
      if (check.attempts > 1) {
        line += fmt::format(" ({} attempts)", check.attempts);
      }
      text += line + "\n";
    }
  }
  std::string summary =
      fmt::format("{} of {} checks passed in {} suite{} ({})", passed, total, report.suites.size(),
                  report.suites.size() == 1 ? "" : "s", format_duration(report.elapsed));
  if (!report.passed()) {
    summary += fmt::format("; failed: {}", errc_name(report.failure()));
  }
  return text + summary + "\n";
}

Result<Output> run_verify(const Context& ctx, const VerifyOptions& options) {
  ZTP_ASSIGN_OR_RETURN(const spec::Spec& spec, spec::load_spec(ctx.globals.spec_path()));
  const spec::Environment* env = spec.find_environment(options.env);
  if (env == nullptr) {
    return make_error(Errc::not_found,
                      fmt::format("{}: no environment `{}`; known: {}", spec.file.string(),
                                  options.env, environment_names(spec)));
  }
  std::string base = options.url;
  if (base.empty()) {
    auto url = verify::base_url_for_listen(env->listen);
    if (!url.ok()) {
      return make_error(Errc::invalid, fmt::format("environment {}: listen `{}`: {}", env->name,
                                                   env->listen, url.error().message));
    }
    base = *url;
  } else if (!spec::is_http_url(base)) {
    return make_error(Errc::invalid,
                      fmt::format("--url `{}` is not an http:// or https:// URL with a host; "
                                  "write it like http://127.0.0.1:8081",
                                  base));
  }
  std::vector<spec::CheckSuite> suites;
  if (!options.suite.empty()) {
    ZTP_ASSIGN_OR_RETURN(auto suite, verify::resolve_suite(spec, options.suite, base));
    suites.push_back(std::move(suite));
  } else {
    ZTP_ASSIGN_OR_RETURN(suites, verify::environment_suites(spec, *env, base));
  }
  verify::CircuitBreaker breaker;
  auto report = verify::verify(suites, base, breaker);
  nlohmann::json j = verify::to_json(report);
  j["environment"] = options.env;
  return Output{j, verify_text(options.env, report),
                report.passed() ? 0 : exit_code(report.failure())};
}

void setup(CLI::App& root, Context& ctx) {
  auto options = std::make_shared<VerifyOptions>();
  auto* cmd = root.add_subcommand("verify", "Run an environment's checks now");
  cmd->footer(
      "Runs the check suites an environment lists under `verify` (or only --suite) against its "
      "listen address (or --url), all checks at once, each with its retry policy. Prints one "
      "line per check and a summary. Exit 0 when all pass, else 11 (a check failed), 10 "
      "(network) or 13 (timeout), the most serious.");
  cmd->add_option("env", options->env, "The environment, as named in ztp.yaml")->required();
  cmd->add_option("--suite", options->suite,
                  "Run only this suite (one under `checks`, or security_headers, error_pages)");
  cmd->add_option("--url", options->url,
                  "Base URL to check instead of the environment's listen address, like "
                  "http://127.0.0.1:9082");
  cmd->callback([&ctx, options] { ctx.exit_code = print_result(ctx, run_verify(ctx, *options)); });
}

const Registration k_registration{60, setup};

}  // namespace
}  // namespace ztp::cli
