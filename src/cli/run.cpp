// ztp run, ztp approve, ztp reject: driving the pipeline and answering its gates.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "artifact/commit_build.hpp"
#include "cli/command.hpp"
#include "cli/run_display.hpp"
#include "cli/workspace.hpp"
#include "engine/gates.hpp"
#include "engine/pipeline.hpp"
#include "notify/notifier.hpp"

namespace ztp::cli {
namespace {

struct RunFlags {
  std::string commit;
  std::string until;
  bool always = false;
  bool no_wait_approval = false;
};

int finish(Context& ctx, RunDisplay& display, const Result<engine::RunResult>& result) {
  display.stop();
  if (!result.ok()) {
    return report(ctx, result.error());
  }
  print_run_result(*result, ctx.globals.json());
  if (!ctx.globals.json() && result->error && result->error->message != result->run.reason) {
    fmt::print(stderr, "error: {}\n", result->error->message);  // the summary did not say it
  }
  if (!ctx.globals.json() && result->run.status == store::RunStatus::awaiting_approval) {
    fmt::print(stderr, "run {} waits: `ztp approve {}` continues it, `ztp reject {}` ends it\n",
               result->run.id, result->run.id, result->run.id);
  }
  return run_exit_code(*result);
}

int run_pipeline(Context& ctx, const RunFlags& flags) {
  auto ws = open_workspace(ctx.globals);
  if (!ws.ok()) {
    return report(ctx, ws.error());
  }
  // Announces the run's events through ztp.yaml's notifiers; waits a bounded time at exit.
  notify::ScopedNotifier notifier(ws->spec, *ws->store);
  RunDisplay display;
  auto note = [&display](const std::string& m) { display.note(m); };
  auto p = engine::make_pipeline(*ws, display.progress(), note);
  p.wait_for_approval = !flags.no_wait_approval;
  p.wait_when_held = !flags.no_wait_approval;
  if (auto repaired = reconcile_first(p, note); !repaired.ok()) {
    return finish(ctx, display, repaired.take_error());
  }
  auto repo = artifact::open_spec_repo(ws->spec);
  if (!repo.ok()) {
    return finish(ctx, display, repo.take_error());
  }
  engine::RunRequest req;
  req.revision = flags.commit;
  req.until = flags.until;
  req.always = flags.always;
  auto check = engine::check_trigger(p, *repo, req);
  if (!check.ok()) {
    return finish(ctx, display, check.take_error());
  }
  if (!check->triggers) {
    display.stop();
    return print_result(
        ctx,
        Output{{{"triggered", false}, {"commit", check->commit.sha}, {"reason", check->reason}},
               fmt::format("nothing to run: {}\n", check->reason)});
  }
  auto run = engine::create_run(p, check->commit, req);
  if (!run.ok()) {
    return finish(ctx, display, run.take_error());
  }
  display.note(fmt::format("run {}: commit {} \"{}\" ({})", run->id, check->commit.short_sha,
                           check->commit.summary, check->reason));
  return finish(ctx, display, engine::drive_run(p, run->id));
}

// Answers run `run_id`'s gate, then continues (or closes) the run here unless a waiting
// `ztp run` holds it.
int answer_gate(Context& ctx, int64_t run_id, store::ApprovalStatus decision, const std::string& by,
                const std::string& comment, bool resume) {
  auto ws = open_workspace(ctx.globals);
  if (!ws.ok()) {
    return report(ctx, ws.error());
  }
  auto answered = engine::answer_gate(*ws->store, run_id, decision, by, comment);
  if (!answered.ok()) {
    return report(ctx, answered.error());
  }
  std::string verb = decision == store::ApprovalStatus::approved ? "approved" : "rejected";
  fmt::print(stderr, "run {}: {} {} by {}\n", run_id, answered->env, verb, by);
  if (!resume) {
    return 0;
  }
  notify::ScopedNotifier notifier(ws->spec, *ws->store);
  RunDisplay display;
  auto note = [&display](const std::string& m) { display.note(m); };
  auto p = engine::make_pipeline(*ws, display.progress(), note);
  p.actor = by;
  if (auto repaired = reconcile_first(p, note); !repaired.ok()) {
    return finish(ctx, display, repaired.take_error());
  }
  auto result = engine::drive_run(p, run_id);
  if (!result.ok() && result.error().code == Errc::conflict) {
    display.stop();
    fmt::print(stderr, "run {} continues in the process that drives it ({})\n", run_id,
               result.error().message);
    return 0;
  }
  int code = finish(ctx, display, result);
  // Rejecting is what was asked: the run ending refused is this command's success.
  return decision == store::ApprovalStatus::rejected && code == exit_code(Errc::refused) ? 0 : code;
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<RunFlags>();
  auto* cmd = root.add_subcommand("run", "Run the pipeline for a commit: build, push, promote");
  cmd->footer(
      "Run the pipeline for one commit: build its image once (from the committed tree), push it\n"
      "to the registry, then promote it through the environments in order. Each environment\n"
      "waits at its gate (approval: `ztp approve RUN`), rolls out by its strategy and is\n"
      "verified by its check suites; a failure rolls it back to its last known good release and\n"
      "stops the run. Without --commit the tip of source.branch runs, and only when a commit\n"
      "since the last run changed a path matching source.paths. What a killed run left\n"
      "half-done is rolled back first.\n"
      "Exit: 0 done (or waiting at a gate with --no-wait-approval), 11 verification failed,\n"
      "12 rolled back, 13 timeout, 14 rejected, 10 network, 1 other errors.");
  cmd->add_option("--commit", flags->commit,
                  "The revision to run: a SHA, short SHA, branch or tag (default: source.branch)");
  cmd->add_option("--until", flags->until, "Stop after this environment");
  cmd->add_flag("--always", flags->always,
                "Run even when nothing since the last run matches source.paths");
  cmd->add_flag("--no-wait-approval", flags->no_wait_approval,
                "At an approval gate, leave the run waiting and exit (ztp approve continues it)");
  cmd->callback([&ctx, flags] { ctx.exit_code = run_pipeline(ctx, *flags); });

  for (auto decision : {store::ApprovalStatus::approved, store::ApprovalStatus::rejected}) {
    bool approve = decision == store::ApprovalStatus::approved;
    struct GateFlags {
      int64_t run = 0;
      std::string comment;
      std::string by;
      bool no_resume = false;
    };
    auto g = std::make_shared<GateFlags>();
    auto* sub = root.add_subcommand(approve ? "approve" : "reject",
                                    approve ? "Approve the gate a run waits at, and continue it"
                                            : "Reject the gate a run waits at, ending the run");
    sub->footer(
        approve ? "Approve the gate run RUN waits at. When no `ztp run` is waiting on it, the run\n"
                  "continues here, with live progress, and the exit code is the run's."
                : "Reject the gate run RUN waits at: the run ends cancelled and the environment\n"
                  "keeps its current release.");
    sub->add_option("RUN", g->run, "The run id (ztp status and ztp history show it)")->required();
    sub->add_option("-m,--comment", g->comment, "Why, for the record");
    sub->add_option("--by", g->by, "Who answers (default: $USER)");
    if (approve) {
      sub->add_flag("--no-resume", g->no_resume,
                    "Only record the approval; a later `ztp approve` or `ztp run` continues");
    }
    sub->callback([&ctx, g, decision] {
      ctx.exit_code =
          answer_gate(ctx, g->run, decision, actor_of(g->by), g->comment, !g->no_resume);
    });
  }
}

const Registration k_registration{30, setup};

}  // namespace
}  // namespace ztp::cli
