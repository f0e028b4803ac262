#include "artifact/directory_source.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "artifact/exclude.hpp"

namespace ztp::artifact {
namespace {

Result<void> walk(const std::filesystem::path& root, const std::string& rel_dir,
                  const std::vector<std::string>& patterns, std::vector<FileEntry>& out) {
  std::filesystem::path dir = rel_dir.empty() ? root : root / rel_dir;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    return make_error(Errc::internal,
                      fmt::format("{}: cannot list the directory: {}", dir.string(), ec.message()));
  }
  for (const auto& de : it) {
    std::string name = de.path().filename().string();
    std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
    if (is_excluded(patterns, rel)) {
      continue;
    }
    struct stat st {};
    if (::lstat(de.path().c_str(), &st) != 0) {
      return make_error(Errc::internal, fmt::format("{}: cannot stat: {}", de.path().string(),
                                                    std::strerror(errno)));
    }
    FileEntry e;
    e.path = rel;
    e.mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      e.kind = EntryKind::dir;
      out.push_back(std::move(e));
      ZTP_TRY(walk(root, rel, patterns, out));
    } else if (S_ISREG(st.st_mode)) {
      e.kind = EntryKind::file;
      e.source_file = de.path();
      e.size = static_cast<std::int64_t>(st.st_size);
      out.push_back(std::move(e));
    } else if (S_ISLNK(st.st_mode)) {
      e.kind = EntryKind::symlink;
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(de.path().c_str(), target.data(), target.size());
      if (n < 0) {
        return make_error(Errc::internal, fmt::format("{}: cannot read the link: {}",
                                                      de.path().string(), std::strerror(errno)));
      }
      target.resize(static_cast<size_t>(n));
      if (link_escapes(rel, target)) {
        return make_error(
            Errc::invalid,
            fmt::format("{}: the symlink points outside the build context (to \"{}\"); make it "
                        "relative and inside the context, or exclude it",
                        de.path().string(), target));
      }
      e.link_target = std::move(target);
      out.push_back(std::move(e));
    } else {
      return make_error(Errc::invalid,
                        fmt::format("{}: a socket, fifo or device cannot go into an image; "
                                    "remove it or add it to build.exclude",
                                    de.path().string()));
    }
  }
  return {};
}

}  // namespace

DirectorySource::DirectorySource(std::filesystem::path root, std::vector<std::string> exclude)
    : m_root(std::move(root)), m_exclude(std::move(exclude)) {}

Result<std::vector<FileEntry>> DirectorySource::entries() const {
  ZTP_TRY(validate_excludes(m_exclude));
  std::error_code ec;
  if (!std::filesystem::is_directory(m_root, ec)) {
    return make_error(Errc::not_found,
                      fmt::format("{}: the build context is not a directory", m_root.string()));
  }
  std::vector<FileEntry> out;
  ZTP_TRY(walk(m_root, "", m_exclude, out));
  sort_entries(out);
  return out;
}

std::string DirectorySource::describe() const { return "directory " + m_root.string(); }

}  // namespace ztp::artifact
