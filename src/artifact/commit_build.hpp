#pragma once

#include <string_view>

#include "artifact/builder.hpp"
#include "artifact/context_build.hpp"
#include "artifact/oci_layout_store.hpp"
#include "source/git_repo.hpp"
#include "spec/spec.hpp"
#include "util/result.hpp"

namespace ztp::artifact {

// The image of one commit and whether it was there already.
struct CommitBuild {
  BuiltImage image;
  source::CommitInfo commit;
  bool reused = false;  // the store had it: nothing was built or written
};

// Builds the image of commit `rev` of `repo` for `spec` into `store`: the committed tree below
// build.context minus build.exclude (GitTreeSource), with inputs_from_spec (revision = the full
// SHA, source = repo.source_url(), created = the commit time), built by build_context (over
// build.from, or by the Dockerfile), tagged with the full and the short SHA. A commit already
// built is not built again: when a manifest is tagged with the full SHA, it is returned with
// reused = true (its tags are those naming it, `written` is empty), so its base stays the one
// resolved when it was first built. With `refresh_base` it is built again, resolving the base
// anew.
struct CommitBuildOptions {
  ContextBuildOptions context;
  bool refresh_base = false;
};
Result<CommitBuild> build_commit(const spec::Spec& spec, const source::GitRepo& repo,
                                 std::string_view rev, OciLayoutStore& store,
                                 const CommitBuildOptions& opts = {});

// The repository the spec names: spec.base_dir() / spec.source.repo.
Result<source::GitRepo> open_spec_repo(const spec::Spec& spec);

}  // namespace ztp::artifact
