// The gate of an environment in a run: holds (freezes, deploy windows) and approvals.
#include <fmt/format.h>

#include "engine/bad_marks.hpp"
#include "engine/holds.hpp"
#include "engine/pipeline_run.hpp"
#include "util/log.hpp"

namespace ztp::engine::run_detail {
namespace {

// The gate stage of `env` left open by an earlier pass (0 when none).
int64_t open_gate_stage(const Stages& stages, const spec::Environment& env) {
  const auto* stage = stages.find("gate", env.name);
  return stage != nullptr && !store::is_final(stage->status) ? stage->id : 0;
}

// Opens `env`'s gate stage with `message` when `stage_id` names none (is 0), setting it.
Result<void> open_gate(Stages& stages, const store::Run& run, const spec::Environment& env,
                       int64_t& stage_id, const std::string& message) {
  if (stage_id == 0) {
    ZTP_ASSIGN_OR_RETURN(stage_id, stages.start(run.id, "gate", env.name, message));
  }
  return {};
}

// True (with the gate stage failed and `detail` saying why) when run `run` ended while it
// waited at the gate, e.g. superseded by a newer run.
bool ended_while_waiting(Pipeline& p, store::Run& run, Stages& stages, int64_t stage_id,
                         std::string& detail) {
  auto now = p.store.get_run(run.id);
  if (!now.ok() || !store::is_final(now->status)) {
    return false;
  }
  run = *now;
  detail = fmt::format("run {} ended while waiting: {}", run.id, run.reason);
  [[maybe_unused]] auto f = stages.finish(stage_id, StageStatus::failed, detail);
  return true;
}

// True (with the gate stage failed, a `gate.refused` event and `detail` saying why) when the
// run's image is marked bad in `env`: such a run is refused before anyone is asked to approve
// it, whatever holds the environment.
Result<bool> refused_as_bad(Pipeline& p, const store::Run& run, const spec::Environment& env,
                            Stages& stages, const RunReporter& report, int64_t& stage_id,
                            std::string& detail) {
  auto mark = bad_mark(p.store, run.digest, env.name);
  if (!mark.ok()) {
    return mark.take_error();
  }
  if (!*mark) {
    return false;
  }
  detail = fmt::format(
      "run {} is refused at {}'s gate: its image {} is marked bad in {} ({}); nobody was asked to "
      "approve it. If the image is good after all, `ztp unmark {} {}` clears the mark",
      run.id, env.name, short_digest(run.digest), env.name, (*mark)->reason, env.name,
      short_digest(run.digest));
  ZTP_TRY(open_gate(stages, run, env, stage_id,
                    fmt::format("{} checks the image {}", env.name, short_digest(run.digest))));
  report(env.name, {"gate.refused",
                    detail,
                    {{"gate", "bad_image"}, {"digest", run.digest}, {"reason", (*mark)->reason}}});
  ZTP_TRY(stages.finish(stage_id, StageStatus::failed, detail));
  return true;
}

// Waits at `env`'s gate while a freeze or a deploy window holds it, opening the gate stage
// (`stage_id`, when 0) and announcing each new reason; re-checks on the pipeline's clock, at
// once when a window is due to open. Without p.wait_for_approval the gate refuses the run
// instead (rejected, `detail` = the reason).
Result<GateAnswer> wait_while_held(Pipeline& p, store::Run& run, const spec::Environment& env,
                                   Stages& stages, const RunReporter& report, int64_t& stage_id,
                                   std::string& detail) {
  constexpr std::chrono::seconds k_longest_window_pause{30};
  std::string announced;
  while (true) {
    auto holds = holds_on(p.store, env, p.clock.wall_now());
    if (!holds.ok()) {
      return holds.take_error();
    }
    if (holds->empty()) {
      if (!announced.empty()) {
        report(env.name, {"gate.released",
                          fmt::format("{} is no longer held; run {} goes on", env.name, run.id),
                          {{"gate", "hold"}}});
        auto cleared = p.store.update_run_status(run.id, run.status);
        if (cleared.ok()) {
          run = *cleared;
        }
      }
      return GateAnswer::approved;
    }
    std::string why = describe(*holds);
    ZTP_TRY(open_gate(stages, run, env, stage_id, fmt::format("{} is held", env.name)));
    if (!p.wait_when_held) {
      detail = fmt::format("held at {}'s gate, and the run may not wait: {}", env.name, why);
      ZTP_TRY(stages.finish(stage_id, StageStatus::failed, detail));
      return GateAnswer::rejected;
    }
    if (p.stop_requested && p.stop_requested()) {
      // Back to the queue: whoever drives it next finds the gate stage open and waits again.
      ZTP_ASSIGN_OR_RETURN(
          run,
          p.store.update_run_status(
              run.id, RunStatus::queued,
              fmt::format("waits at {}'s gate ({}); resumes when driven again", env.name, why)));
      return GateAnswer::waiting;
    }
    if (why != announced) {
      nlohmann::json listed = nlohmann::json::array();
      for (const auto& h : *holds) {
        listed.push_back(h.to_json());
      }
      // The run's reason first: whoever sees the event then finds the run saying why.
      ZTP_ASSIGN_OR_RETURN(run, p.store.update_run_status(run.id, run.status, why));
      report(env.name, {"gate.held",
                        fmt::format("run {} waits at the gate: {}", run.id, why),
                        {{"gate", "hold"}, {"holds", listed}}});
      announced = why;
    }
    auto pause = std::chrono::duration_cast<Clock::Duration>(p.approval_poll);
    bool frozen = std::any_of(holds->begin(), holds->end(),
                              [](const Hold& h) { return h.kind == Hold::Kind::freeze; });
    const auto& opens = holds->back().opens_at;
    if (!frozen && opens) {
      auto until = std::chrono::ceil<Clock::Duration>(*opens - p.clock.wall_now());
      pause = std::clamp<Clock::Duration>(
          until, Clock::Duration(1),
          std::max<Clock::Duration>(
              pause, std::chrono::duration_cast<Clock::Duration>(k_longest_window_pause)));
    }
    // In slices of approval_poll, so a stop request is seen promptly.
    auto slice = std::max<Clock::Duration>(
        Clock::Duration(1), std::chrono::duration_cast<Clock::Duration>(p.approval_poll));
    for (auto left = pause; left.count() > 0; left -= slice) {
      p.clock.sleep_for(std::min(left, slice));
      if (p.stop_requested && p.stop_requested()) {
        break;
      }
    }
    if (ended_while_waiting(p, run, stages, stage_id, detail)) {
      return GateAnswer::rejected;
    }
  }
}

// Waits for `ztp approve`/`ztp reject` of `env` (returns waiting at once without
// p.wait_for_approval), opening the gate stage when `stage_id` is 0. A rejection fails the
// stage; an approval leaves it open with `detail` for the caller to finish.
Result<GateAnswer> wait_for_approval(Pipeline& p, store::Run& run, const spec::Environment& env,
                                     Stages& stages, const RunReporter& report, int64_t& stage_id,
                                     std::string& detail) {
  ZTP_TRY(open_gate(stages, run, env, stage_id, fmt::format("{} waits for an approval", env.name)));
  auto approval = p.store.request_approval(run.id, env.name);  // the earlier one, if asked
  if (!approval.ok()) {
    return approval.take_error();
  }
  bool announced = false;
  while (approval->status == store::ApprovalStatus::pending) {
    if (run.status != RunStatus::awaiting_approval) {
      ZTP_ASSIGN_OR_RETURN(run, p.store.update_run_status(
                                    run.id, RunStatus::awaiting_approval,
                                    fmt::format("{} waits for `ztp approve {}` or `ztp reject {}`",
                                                env.name, run.id, run.id)));
    }
    if (!announced) {
      report(env.name, {"gate.waiting",
                        fmt::format("run {} waits for approval of {}: `ztp approve {}` or "
                                    "`ztp reject {}`",
                                    run.id, env.name, run.id, run.id),
                        {{"gate", "approval"}}});
      announced = true;
    }
    if (!p.wait_for_approval) {
      return GateAnswer::waiting;
    }
    p.clock.sleep_for(p.approval_poll);
    approval = p.store.get_approval(run.id, env.name);
    if (!approval.ok()) {
      return approval.take_error();
    }
    // A newer run may have superseded this one while it waited.
    if (ended_while_waiting(p, run, stages, stage_id, detail)) {
      return GateAnswer::rejected;
    }
  }
  std::string by = approval->decided_by.empty() ? "someone" : approval->decided_by;
  std::string comment = approval->comment.empty() ? "" : ": " + approval->comment;
  if (approval->status == store::ApprovalStatus::rejected) {
    detail = fmt::format("{} rejected by {}{}", env.name, by, comment);
    ZTP_TRY(stages.finish(stage_id, StageStatus::failed, detail));
    return GateAnswer::rejected;
  }
  detail = fmt::format("{} approved by {}{}", env.name, by, comment);
  if (run.status == RunStatus::awaiting_approval) {
    ZTP_ASSIGN_OR_RETURN(run, p.store.update_run_status(run.id, RunStatus::running));
  }
  return GateAnswer::approved;
}

}  // namespace

// `env`'s gate: it refuses a run whose image is marked bad in the environment, waits while a
// freeze or a deploy window holds the environment, then for an approval when the gate asks for
// one, then (time having passed) for holds again. The gate stage is recorded when the run
// waited, was asked to, or was refused.
Result<GateAnswer> gate_stage(Pipeline& p, store::Run& run, const spec::Environment& env,
                              Stages& stages, const RunReporter& report, std::string& detail) {
  if (stages.succeeded("gate", env.name)) {
    return GateAnswer::approved;
  }
  int64_t stage_id = open_gate_stage(stages, env);
  auto refused = refused_as_bad(p, run, env, stages, report, stage_id, detail);
  if (!refused.ok()) {
    return refused.take_error();
  }
  if (*refused) {
    return GateAnswer::rejected;
  }
  auto answer = wait_while_held(p, run, env, stages, report, stage_id, detail);
  if (answer.ok() && *answer == GateAnswer::approved && env.gate == spec::Gate::approval) {
    answer = wait_for_approval(p, run, env, stages, report, stage_id, detail);
    if (answer.ok() && *answer == GateAnswer::approved) {
      std::string approved = detail;
      answer = wait_while_held(p, run, env, stages, report, stage_id, detail);
      if (answer.ok() && *answer == GateAnswer::approved) {
        detail = approved;
      }
    }
  }
  if (!answer.ok() || *answer != GateAnswer::approved) {
    return answer;
  }
  if (stage_id != 0) {
    ZTP_TRY(stages.finish(stage_id, StageStatus::succeeded,
                          detail.empty() ? fmt::format("{} is no longer held", env.name) : detail));
  }
  return GateAnswer::approved;
}

}  // namespace ztp::engine::run_detail
