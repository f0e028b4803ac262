// ztp unmark: clearing the bad mark a rollback left on an image, and listing the marks.
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/workspace.hpp"
#include "engine/bad_marks.hpp"

namespace ztp::cli {
namespace {

struct UnmarkFlags {
  std::string env;
  std::string image;
  std::string by;
};

nlohmann::json mark_json(const store::BadDigest& m) {
  return {{"digest", m.digest},
          {"env", m.env ? nlohmann::json(*m.env) : nlohmann::json()},
          {"reason", m.reason},
          {"marked_at", m.marked_at}};
}

// A mark's time (ms since the epoch) as messages show it.
std::string marked_text(int64_t ms) {
  return utc_minutes(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

// `ztp unmark ENV`: what is marked bad in ENV, newest first.
Result<Output> list_marks(Workspace& ws, const std::string& env) {
  auto marks = ws.store->list_bad_digests();
  if (!marks.ok()) {
    return marks.take_error();
  }
  nlohmann::json listed = nlohmann::json::array();
  std::vector<std::string> lines;
  for (const auto& m : *marks) {
    if (m.env && *m.env != env) {
      continue;
    }
    listed.push_back(mark_json(m));
    lines.push_back(fmt::format("{}  marked {}{}: {}", m.digest, marked_text(m.marked_at),
                                m.env ? "" : " in every environment", m.reason));
  }
  return Output{{{"env", env}, {"marks", listed}},
                lines.empty() ? fmt::format("no image is marked bad in {}\n", env)
                              : fmt::format("{}\n`ztp unmark {} IMAGE` clears a mark\n",
                                            fmt::join(lines, "\n"), env)};
}

Result<Output> run_unmark(Workspace& ws, const UnmarkFlags& flags) {
  if (flags.image.empty()) {
    return list_marks(ws, flags.env);
  }
  auto done =
      engine::unmark_image(ws.spec, ws.home, *ws.store, flags.env, flags.image, actor_of(flags.by));
  if (!done.ok()) {
    return done.take_error();
  }
  const auto& u = *done;
  std::string text =
      u.removed ? fmt::format(
                      "image {} is no longer marked bad in {} (marked {}: {}); runs and "
                      "`ztp deploy` may take it there again\n",
                      u.digest, u.env, marked_text(u.removed->marked_at), u.removed->reason)
                : fmt::format("image {} ({}) is not marked bad in {}; nothing to unmark\n",
                              u.digest, flags.image, u.env);
  if (u.still_bad) {
    text += "note: it stays marked bad in every environment\n";
  }
  return Output{{{"env", u.env},
                 {"image", flags.image},
                 {"digest", u.digest},
                 {"unmarked", u.removed.has_value()},
                 {"was", u.removed ? mark_json(*u.removed) : nlohmann::json()},
                 {"still_bad", u.still_bad}},
                text};
}

void setup(CLI::App& root, Context& ctx) {
  auto flags = std::make_shared<UnmarkFlags>();
  auto* cmd = root.add_subcommand("unmark", "Clear the bad mark of an image in an environment");
  cmd->footer(
      "A rollback marks the image it leaves bad in its environment: `ztp deploy` refuses it\n"
      "there (unless --force) and a run carrying it is refused at that environment's gate\n"
      "(exit 14). When the image was good after all, `ztp unmark ENV IMAGE` clears the mark;\n"
      "the change is audited. IMAGE is what `ztp deploy --image` takes: a full or short commit\n"
      "SHA tag, a digest or a unique prefix of one. Without IMAGE, lists what is marked in ENV.");
  cmd->add_option("ENV", flags->env, "The environment, as named in ztp.yaml")->required();
  cmd->add_option("IMAGE", flags->image, "A tag, digest or short digest of the image");
  cmd->add_option("--by", flags->by, "Who clears the mark, for the audit log (default: $USER)");
  cmd->callback(
      [&ctx, flags] { ctx.exit_code = with_workspace(ctx, flags->env, run_unmark, *flags); });
}

const Registration k_registration{46, setup};

}  // namespace
}  // namespace ztp::cli
