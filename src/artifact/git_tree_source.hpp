#pragma once

#include <string>
#include <vector>

#include "artifact/file_source.hpp"
#include "source/git_repo.hpp"

namespace ztp::artifact {

// The build context as committed: the tree of one commit below the context folder, read with
// libgit2, so nothing of the working directory (uncommitted or untracked files) ever ships.
// File bytes are the committed blobs (no checkout filters); a file is executable when git
// records it 100755. build.exclude applies as for a directory (artifact/exclude.hpp): an
// excluded folder is not read at all. A file's bytes are read from `repo` when wanted (one blob
// at a time as the layer is written), so `repo` must outlive the source and its entries.
class GitTreeSource final : public FileSource {
 public:
  GitTreeSource(const source::GitRepo& repo, std::string sha, std::string context,
                std::vector<std::string> exclude);

  // invalid for a bad exclude glob, a context that is not a folder of the commit, or a
  // submodule in the context; not_found for an unknown commit.
  Result<std::vector<FileEntry>> entries() const override;
  // "commit 1a2b3c4 (application/)"; "commit 1a2b3c4" when the context is the root.
  std::string describe() const override;

 private:
  const source::GitRepo& m_repo;
  std::string m_sha;
  std::string m_context;
  std::vector<std::string> m_exclude;
};

}  // namespace ztp::artifact
