#include "engine/gates.hpp"

#include <fmt/format.h>

namespace ztp::engine {

Result<store::Approval> answer_gate(store::SqliteStore& store, int64_t run_id,
                                    store::ApprovalStatus decision, const std::string& actor,
                                    const std::string& comment) {
  auto answered = store.decide_approval(run_id, decision, actor, comment);
  if (!answered.ok()) {
    return answered.take_error();
  }
  bool approved = decision == store::ApprovalStatus::approved;
  ZTP_TRY(store.append_audit(actor, approved ? "approve" : "reject", fmt::format("run {}", run_id),
                             fmt::format("{} {}", answered->env, comment)));
  return answered;
}

}  // namespace ztp::engine
