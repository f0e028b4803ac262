#include "engine/gates.hpp"

#include <fmt/format.h>

namespace ztp::engine {

Result<store::Approval> answer_gate(store::SqliteStore& store, int64_t run_id,
                                    store::ApprovalStatus decision, const std::string& actor,
                                    const std::string& comment) {
  auto run = store.get_run(run_id);
  if (!run.ok()) {
    if (run.error().code == Errc::not_found) {
      return make_error(Errc::not_found,
                        fmt::format("there is no run {}; `ztp history` lists the runs", run_id));
    }
    return run.take_error();
  }
  // Checked again with the decision, in one transaction: the run may end meanwhile.
  auto answered = store.decide_approval(run_id, decision, actor, comment);
  if (!answered.ok()) {
    if (answered.error().code == Errc::not_found) {
      return make_error(Errc::conflict,
                        fmt::format("run {} is {}, not waiting at an approval gate; `ztp status` "
                                    "shows the runs that are",
                                    run_id, store::to_string(run->status)));
    }
    return answered.take_error();
  }
  bool approved = decision == store::ApprovalStatus::approved;
  ZTP_TRY(store.append_audit(actor, approved ? "approve" : "reject", fmt::format("run {}", run_id),
                             fmt::format("{} {}", answered->env, comment)));
  return answered;
}

}  // namespace ztp::engine
