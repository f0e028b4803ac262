#include <fmt/format.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/evidence.hpp"

namespace ztp::cli {
namespace {

struct EvidenceFlags {
  std::string env;
  int minutes = 30;
  int runs = 10;
  std::string to;  // --to: the file to write
};

Result<Output> run_evidence(Workspace& ws, const EvidenceFlags& flags) {
  engine::EvidenceRequest req;
  req.env = flags.env;
  req.window = std::chrono::minutes(flags.minutes);
  req.runs = flags.runs;
  req.output = flags.to;
  engine::EvidenceSources src{ws.spec, ws.home, *ws.store, system_clock(),
                              [&ws](const std::string& e) { return ws.target_for(e); }};
  // The bundle holds logs and the store's records: its owner's only, whatever the umask.
  mode_t old_mask = ::umask(0077);
  auto bundle = engine::write_evidence(src, req);
  ::umask(old_mask);
  if (!bundle.ok()) {
    return bundle.take_error();
  }
  std::string text =
      fmt::format("wrote {} ({} bytes, {} parts under {}/; README.md is the index)\n",
                  bundle->file.string(), bundle->bytes, bundle->parts.size(), bundle->root);
  for (const auto& n : bundle->notes) {
    text += fmt::format("not included: {}\n", n);
  }
  return Output{{{"file", bundle->file.string()},
                 {"root", bundle->root},
                 {"bytes", bundle->bytes},
                 {"parts", bundle->parts},
                 {"not_included", bundle->notes}},
                text};
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<EvidenceFlags>();
  auto* cmd = root.add_subcommand("evidence", "Bundle what an incident review needs (tar.gz)");
  cmd->footer(
      "Writes one tar.gz with: the spec; the store's records of ENV's latest runs (runs,\n"
      "stages, events), its events, releases, audit entries and holds, as JSON; the image\n"
      "manifests of its releases; the replicas' status and log tails; the proxy's routes of\n"
      "ENV and its access-log lines of the last --minutes; a fresh drift report (or the latest\n"
      "stored one when a rollout holds the environment). README.md inside lists the parts and\n"
      "what could not be gathered. --to FILE names the bundle; --output json prints where it\n"
      "went and what it holds as JSON.\n"
      "Exit 0 written; 1 usage (unknown environment) or the file cannot be written.");
  cmd->add_option("ENV", flags->env, "The environment, as named in ztp.yaml")->required();
  cmd->add_option("--minutes", flags->minutes, "Access-log lines of the last N minutes (30)")
      ->check(CLI::Range(1, 7 * 24 * 60));
  cmd->add_option("--runs", flags->runs, "The latest N runs of ENV (10)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--to", flags->to,
                  "The bundle to write (default: evidence-ENV-<UTC time>.tar.gz here)");
  cmd->callback(
      [&ctx, flags] { ctx.exit_code = with_workspace(ctx, flags->env, run_evidence, *flags); });
}

const Registration k_registration{66, setup};

}  // namespace
}  // namespace ztp::cli
