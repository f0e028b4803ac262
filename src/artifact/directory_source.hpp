#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "artifact/file_source.hpp"

namespace ztp::artifact {

// The files of a directory on disk, as a layer would hold them. Symlinks are kept as links (not
// followed); hard links become regular files. A path is left out when an `exclude` glob
// (util/glob.hpp, relative to the directory) matches it or one of its parent directories;
// `.git` and `.ztp` at the top are always left out (repository and state, never shipped).
// Files are listed with their path and size (FileEntry::source_file), not read: the layer
// streams their bytes, so a large file is never held in memory.
class DirectorySource final : public FileSource {
 public:
  DirectorySource(std::filesystem::path root, std::vector<std::string> exclude);

  // invalid for a bad glob, a special file (socket, fifo, device) or a link escaping the
  // directory; not_found when the directory does not exist.
  Result<std::vector<FileEntry>> entries() const override;
  std::string describe() const override;

 private:
  std::filesystem::path m_root;
  std::vector<std::string> m_exclude;
};

}  // namespace ztp::artifact
