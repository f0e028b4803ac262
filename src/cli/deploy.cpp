#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "artifact/digest.hpp"
#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/deploy.hpp"
#include "engine/live_analysis.hpp"
#include "notify/notifier.hpp"

namespace ztp::cli {
namespace {

struct DeployFlags {
  std::string env;
  std::string image;
  std::string dir;
  bool no_wait = false;
  bool force = false;
};

Result<Output> run_deploy(const Context& ctx, const DeployFlags& flags) {
  if (flags.image.empty() && flags.dir.empty()) {
    return make_error(Errc::invalid, "deploy needs --image REF or --dir PATH");
  }
  ZTP_ASSIGN_OR_RETURN(auto ws, open_workspace(ctx.globals));
  // Announces what this command records (rollbacks, drift) through ztp.yaml's notifiers.
  notify::ScopedNotifier notifier(ws.spec, *ws.store);
  ZTP_TRY(reconcile_first(ws));
  ZTP_ASSIGN_OR_RETURN(auto target, ws.target_for(flags.env));
  engine::DeployRequest req;
  req.env = flags.env;
  req.image = flags.image;
  req.dir = flags.dir;
  req.wait_for_lock = !flags.no_wait;
  req.force = flags.force;
  req.on_lock_wait = [](const std::string& m) { fmt::print(stderr, "{}\n", m); };
  ZTP_ASSIGN_OR_RETURN(auto outcome, engine::deploy(ws.spec, ws.home, *ws.store, *target,
                                                    system_clock(), req, terminal_progress()));
  const auto& r = outcome.release;
  const auto& watch = outcome.watch;
  nlohmann::json j{{"env", r.env},         {"revision", r.revision}, {"digest", r.digest},
                   {"image", r.image_ref}, {"replicas", r.replicas}, {"strategy", r.strategy},
                   {"url", outcome.url}};
  j["watch"] = watch ? engine::judgement_json(*watch) : nlohmann::json();
  std::string text =
      fmt::format("{} runs revision {} ({}) with {} replica(s): {}\n", r.env, r.revision,
                  artifact::short_digest(r.digest), r.replicas, outcome.url);
  if (watch) {
    text += fmt::format("post-deploy watch passed: {}\n", watch->reason);
  }
  return Output{j, text};
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<DeployFlags>();
  auto* cmd = root.add_subcommand("deploy", "Roll one environment to an image, by its strategy");
  cmd->footer(
      "Roll one environment to an image by the environment's strategy. New replicas take traffic\n"
      "only once healthy; if the rollout, its verification or the environment's post-deploy\n"
      "watch fails, the environment is restored to what it ran before (exit 12) and the image\n"
      "is marked bad there. Blue-green standby sets past keep_previous are stopped first, and\n"
      "what a killed ztp command left half-rolled is put back on its last known good release.\n"
      "Progress goes to standard error, the result to standard output.");
  cmd->add_option("ENV", flags->env, "The environment, as named in ztp.yaml")->required();
  auto* image = cmd->add_option("--image", flags->image,
                                "A tag or digest in the image store (see `ztp build`)");
  auto* dir = cmd->add_option("--dir", flags->dir,
                              "Pack this directory into an image first and deploy that")
                  ->check(CLI::ExistingDirectory);
  image->excludes(dir);
  dir->excludes(image);
  cmd->add_flag("--no-wait", flags->no_wait,
                "Fail at once when another rollout holds the environment");
  cmd->add_flag("--force", flags->force,
                "Deploy even an image that was rolled back and marked bad");
  cmd->callback([&ctx, flags] { ctx.exit_code = print_result(ctx, run_deploy(ctx, *flags)); });
}

const Registration k_registration{40, setup};

}  // namespace
}  // namespace ztp::cli
