#include <fmt/format.h>

#include <chrono>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/incident_report.hpp"
#include "util/fs.hpp"

namespace ztp::cli {
namespace {

struct ReportFlags {
  std::string subject;
  int hours = 24;
  std::string to;  // --to: the file to write
};

int run_report(Context& ctx, const ReportFlags& flags) {
  auto ws = open_workspace(ctx.globals);
  if (!ws.ok()) {
    return report(ctx, ws.error());
  }
  auto subject = engine::parse_report_subject(flags.subject);
  if (!subject.ok()) {
    return report(ctx, subject.error());
  }
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 system_clock().wall_now().time_since_epoch())
                 .count();
  if (!subject->run_id) {
    if (auto env = ws->environment(subject->env); !env.ok()) {
      return report(ctx, env.error());
    }
    subject->since_ms = now - int64_t{flags.hours} * 3600 * 1000;
  }
  auto rep = engine::build_incident_report(*ws->store, *subject, now);
  if (!rep.ok()) {
    return report(ctx, rep.error());
  }
  std::string text = ctx.globals.json() ? rep->to_json().dump(2) + "\n" : rep->to_markdown();
  if (flags.to.empty()) {
    fmt::print("{}", text);
    return 0;
  }
  auto written = fs::atomic_write(flags.to, text, 0600);  // it quotes runs and audit lines
  if (!written.ok()) {
    return report(ctx, written.error());
  }
  fmt::print(stderr, "wrote {}\n", flags.to);
  return 0;
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<ReportFlags>();
  auto* cmd = root.add_subcommand("report", "Write a post-incident report of a run or environment");
  cmd->footer(
      "RUN (a run id, see `ztp history`) or ENV (an environment of ztp.yaml). Markdown: a\n"
      "summary, the timeline of the store's events, the actions taken (the audit log,\n"
      "rollbacks, isolation), the releases involved, and for a run its stages. A run's\n"
      "report covers its life; an environment's the last --hours. --output json prints the\n"
      "same data as JSON.\n"
      "Exit 0 written; 1 usage (no such run or environment).");
  cmd->add_option("SUBJECT", flags->subject, "A run id, or an environment")->required();
  cmd->add_option("--hours", flags->hours, "For an environment: the last N hours (24)")
      ->check(CLI::Range(1, 24 * 366));
  cmd->add_option("--to", flags->to, "Write the report to FILE instead of printing it");
  cmd->callback([&ctx, flags] { ctx.exit_code = run_report(ctx, *flags); });
}

const Registration k_registration{67, setup};

}  // namespace
}  // namespace ztp::cli
