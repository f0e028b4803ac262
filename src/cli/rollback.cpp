#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/rollback.hpp"
#include "notify/notifier.hpp"

namespace ztp::cli {
namespace {

struct RollbackFlags {
  std::string env;
  int64_t to = 0;
  bool no_wait = false;
  bool force = false;
  std::string reason;
  std::string by;
};

nlohmann::json release_json(const store::Release& r) {
  return {{"revision", r.revision}, {"digest", r.digest}, {"image", r.image_ref}};
}

nlohmann::json files_json(const std::vector<target::FileChange>& changes) {
  auto out = nlohmann::json::array();
  for (const auto& c : changes) {
    out.push_back({{"path", c.path}, {"change", target::change_name(c.kind)}});
  }
  return out;
}

// The outcome as text: what was restored, how, and what happened to the release left.
std::string outcome_text(const engine::RollbackOutcome& o) {
  const auto& to = o.to;
  std::string text;
  if (o.files_refreshed) {
    text += fmt::format(
        "the files of revision {} differed from its image{}: unpacked afresh{}\n", to.revision,
        o.files_changed.empty() ? "" : " (" + target::describe_changes(o.files_changed) + ")",
        o.method == engine::RollbackMethod::rollout ? ", and rolled out on fresh replicas" : "");
  }
  if (o.method == engine::RollbackMethod::switch_back) {
    text += fmt::format(
        "{} runs revision {} ({}) again: its replicas were still running warm, so one "
        "route change moved all traffic back; no process was started\n",
        to.env, to.revision, artifact::short_digest(to.digest));
  } else {
    text += fmt::format(
        "{} runs revision {} ({}) again: rolled out by its {} strategy and "
        "verified\n",
        to.env, to.revision, artifact::short_digest(to.digest), to.strategy);
  }
  if (o.from) {
    text += fmt::format("revision {} is rolled back{}{}\n", o.from->revision,
                        o.stopped.empty() ? "" : " and stopped",
                        o.marked_bad ? fmt::format("; its image {} is marked bad (deploy it again "
                                                   "only with --force)",
                                                   artifact::short_digest(o.from->digest))
                                     : "");
  }
  return text + o.url + "\n";
}

Result<Output> run_rollback(Workspace& ws, const RollbackFlags& flags, bool has_to) {
  // Announces what this command records (rollbacks, drift) through ztp.yaml's notifiers.
  notify::ScopedNotifier notifier(ws.spec, *ws.store);
  ZTP_ASSIGN_OR_RETURN(auto repaired, reconcile_first(ws));
  // A rollout of ENV that died was just undone: ENV is back on its last known good release,
  // which is what a rollback without --to asks for; going further back is a second command.
  const auto* undone = engine::find_repair(repaired, flags.env);
  if (!has_to && undone != nullptr) {
    return Output{{{"env", flags.env},
                   {"method", "reconcile"},
                   {"processes_started", true},
                   {"repaired", undone->what}},
                  fmt::format("{}\nthat is the rollback: `ztp rollback {}` again goes back one "
                              "more release\n",
                              undone->what, flags.env)};
  }
  ZTP_ASSIGN_OR_RETURN(auto target, ws.target_for(flags.env));
  engine::RollbackRequest req;
  req.env = flags.env;
  if (has_to) {
    req.to_revision = flags.to;
  }
  req.wait_for_lock = !flags.no_wait;
  req.force = flags.force;
  req.actor = actor_of(flags.by);
  req.reason = flags.reason;
  req.on_lock_wait = [](const std::string& m) { fmt::print(stderr, "{}\n", m); };
  ZTP_ASSIGN_OR_RETURN(const auto& o, engine::rollback(ws.spec, ws.home, *ws.store, *target,
                                                       system_clock(), req, terminal_progress()));
  nlohmann::json j{{"env", o.to.env},
                   {"method", engine::rollback_method_name(o.method)},
                   {"processes_started", o.method == engine::RollbackMethod::rollout},
                   {"from", o.from ? release_json(*o.from) : nlohmann::json()},
                   {"to", release_json(o.to)},
                   {"marked_bad", o.marked_bad ? nlohmann::json(o.from->digest) : nlohmann::json()},
                   {"stopped", o.stopped},
                   {"files_changed", files_json(o.files_changed)},
                   {"files_refreshed", o.files_refreshed},
                   {"url", o.url}};
  return Output{j, outcome_text(o)};
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<RollbackFlags>();
  auto* cmd = root.add_subcommand("rollback", "Put an environment back on an earlier release");
  cmd->footer(
      "Put an environment back on its last known good release, or on --to REVISION.\n"
      "What a killed ztp command left half-rolled is put back first; when that was ENV's own\n"
      "rollout, undoing it is the rollback (without --to nothing more is done).\n"
      "Without --to: the last known good release; when that is what runs now, the good release\n"
      "before it (the newest earlier revision that was active and later superseded, with\n"
      "another image that is not marked bad).\n"
      "When that release's replicas still run warm (blue-green keeps the previous set for\n"
      "keep_previous), one route change moves all traffic back and no process is started.\n"
      "Files of that release edited since it was unpacked are unpacked afresh from its image\n"
      "first, and a warm set that ran them is not switched to but replaced by a rollout.\n"
      "Otherwise its image is rolled out by the environment's strategy and verified, as a\n"
      "deploy would. The release rolled away from is recorded rolled_back and its image marked\n"
      "bad in this environment: `ztp deploy` refuses it from then on without --force.\n"
      "Exit 0 done; 1 usage (unknown environment or revision, nothing to go back to, locked\n"
      "with --no-wait); 12 the rollback's own rollout failed and the environment was put back\n"
      "on what it ran before; 14 the target image is marked bad (use --force); 10/11/13 as\n"
      "for deploy.");
  cmd->add_option("ENV", flags->env, "The environment, as named in ztp.yaml")->required();
  auto* to = cmd->add_option("--to", flags->to,
                             "The revision of ENV to go back to (`ztp status ENV`, history)")
                 ->check(CLI::PositiveNumber);
  cmd->add_flag("--no-wait", flags->no_wait,
                "Fail at once when another rollout holds the environment");
  cmd->add_flag("--force", flags->force, "Go to the revision even when its image is marked bad");
  cmd->add_option("--reason", flags->reason,
                  "Why, for the notifications and the audit log (default: \"manual rollback to "
                  "revision N\")");
  cmd->add_option("--by", flags->by, "Who rolls back (default: $USER)");
  cmd->callback([&ctx, flags, to] {
    ctx.exit_code = with_workspace(ctx, "", run_rollback, *flags, to->count() > 0);
  });
}

const Registration k_registration{45, setup};

}  // namespace
}  // namespace ztp::cli
