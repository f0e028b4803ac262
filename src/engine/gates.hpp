#pragma once

#include <cstdint>
#include <string>

#include "store/sqlite_store.hpp"
#include "util/result.hpp"

// Answering the approval gate a run waits at, the same from `ztp approve`/`ztp reject` and
// from the API of `ztp serve`. See docs/gates.md.
namespace ztp::engine {

// Records `decision` (approved or rejected) by `actor` on the approval run `run_id` waits for,
// and adds it to the audit log ("approve"/"reject", "run N", "<env> <comment>"). Nothing is
// written on failure: not_found ("there is no run N") when the run does not exist; conflict
// when it has ended (the message says why, e.g. superseded by run M), waits at no approval
// gate, or its gate was answered already. Continuing the run is the caller's:
// engine::drive_run, or the controller's resume.
Result<store::Approval> answer_gate(store::SqliteStore& store, int64_t run_id,
                                    store::ApprovalStatus decision, const std::string& actor,
                                    const std::string& comment);

}  // namespace ztp::engine
