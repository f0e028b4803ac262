#include "artifact/git_tree_source.hpp"

#include <fmt/format.h>

#include "artifact/exclude.hpp"

namespace ztp::artifact {

GitTreeSource::GitTreeSource(const source::GitRepo& repo, std::string sha, std::string context,
                             std::vector<std::string> exclude)
    : m_repo(repo),
      m_sha(std::move(sha)),
      m_context(std::move(context)),
      m_exclude(std::move(exclude)) {}

Result<std::vector<FileEntry>> GitTreeSource::entries() const {
  ZTP_TRY(validate_excludes(m_exclude));
  // The files' bytes are read when the layer is written, one blob at a time.
  auto tree = m_repo.read_tree(
      m_sha, m_context, [this](std::string_view rel) { return is_excluded(m_exclude, rel); },
      source::FileBytes::defer);
  if (!tree.ok()) {
    return tree.take_error();
  }
  std::vector<FileEntry> out;
  out.reserve(tree->size());
  for (auto& f : tree.value()) {
    FileEntry e;
    e.path = std::move(f.path);
    switch (f.kind) {
      case source::TreeFile::Kind::dir:
        e.kind = EntryKind::dir;
        e.mode = 0755;
        break;
      case source::TreeFile::Kind::file:
        e.kind = EntryKind::file;
        e.mode = f.mode & 0777;
        e.load = [repo = &m_repo, id = std::move(f.blob_id), path = e.path] {
          return repo->read_blob(id, path);
        };
        break;
      case source::TreeFile::Kind::symlink:
        e.kind = EntryKind::symlink;
        e.mode = 0777;
        e.link_target = std::move(f.content);
        break;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string GitTreeSource::describe() const {
  std::string context = source::normalize_tree_folder(m_context).value_or(m_context);
  std::string commit = fmt::format("commit {}", std::string_view(m_sha).substr(0, 7));
  if (context.empty()) {
    return commit;
  }
  return fmt::format("{} ({}/)", commit, context);
}

}  // namespace ztp::artifact
