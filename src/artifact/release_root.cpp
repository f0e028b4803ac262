#include "artifact/release_root.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ztp::artifact {
namespace {

// openat2 under `root`; -1 with errno on failure. EAGAIN means a concurrent rename or mount
// raced the lookup, and the kernel asks for a retry.
int open_beneath(int root, std::string_view path, int flags) {
  std::string p = path.empty() ? std::string(".") : std::string(path);
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0; attempt < 16; ++attempt) {
    long fd = ::syscall(SYS_openat2, root, p.c_str(), &how, sizeof how);
    if (fd >= 0) {
      return static_cast<int>(fd);
    }
    if (errno != EAGAIN && errno != EINTR) {
      break;
    }
  }
  return -1;
}

// The error for a failed lookup of `path` under the root (errno is the lookup's).
Error lookup_error(std::string_view path, int err) {
  switch (err) {
    case EXDEV:
      return make_error(Errc::refused, fmt::format("\"{}\" leads outside the release directory "
                                                   "through a symlink",
                                                   path));
    case ELOOP:
      return make_error(Errc::refused,
                        fmt::format("\"{}\" goes through too many symlinks (a loop)", path));
    case ENOTDIR:
      return make_error(Errc::invalid, fmt::format("\"{}\" is not a directory", path));
    case ENOENT:
      return make_error(Errc::not_found, fmt::format("\"{}\" does not exist", path));
    default:
      return make_error(Errc::internal,
                        fmt::format("\"{}\": cannot open: {}", path, std::strerror(err)));
  }
}

Error sys_error(std::string_view what, std::string_view path) {
  return make_error(Errc::internal, fmt::format("{} \"{}\": {}", what, path, std::strerror(errno)));
}

// (parent, last component) of a normalised image path.
std::pair<std::string_view, std::string_view> split_last(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) {
    return {std::string_view(), path};
  }
  return {path.substr(0, slash), path.substr(slash + 1)};
}

timespec to_timespec(std::int64_t seconds) {
  timespec t{};
  t.tv_sec = static_cast<time_t>(seconds);
  return t;
}

// The names in the directory `dir`, without "." and "..".
Result<std::vector<std::string>> names_in(int dir) {
  int fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return sys_error("cannot list", ".");
  }
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return sys_error("cannot list", ".");
  }
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..") {
      out.emplace_back(name);
    }
  }
  ::closedir(d);
  return out;
}

Result<void> remove_at(int dir, const std::string& name);

// Removes everything inside `dir` without following any symlink.
Result<void> remove_children(int dir) {
  auto names = names_in(dir);
  if (!names.ok()) {
    return names.take_error();
  }
  for (const auto& n : names.value()) {
    ZTP_TRY(remove_at(dir, n));
  }
  return {};
}

// Removes the entry `name` of `dir` (a single component), a directory with its contents.
Result<void> remove_at(int dir, const std::string& name) {
  if (::unlinkat(dir, name.c_str(), 0) == 0 || errno == ENOENT) {
    return {};
  }
  if (errno != EISDIR && errno != EPERM) {
    return sys_error("cannot remove", name);
  }
  UniqueFd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (sub.get() < 0) {
    return sys_error("cannot open", name);
  }
  ::fchmod(sub.get(), 0700);  // an image may have made it read-only
  ZTP_TRY(remove_children(sub.get()));
  if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0) {
    return sys_error("cannot remove", name);
  }
  return {};
}

// Makes room for a new entry `name` in `dir`: whatever is there goes.
Result<void> replace_at(int dir, std::string_view name) {
  return remove_at(dir, std::string(name));
}

}  // namespace

UniqueFd::~UniqueFd() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = other.release();
  }
  return *this;
}

int UniqueFd::release() {
  int fd = m_fd;
  m_fd = -1;
  return fd;
}

Result<ReleaseRoot> ReleaseRoot::open(const std::filesystem::path& dir) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.get() < 0) {
    return make_error(Errc::internal,
                      fmt::format("{}: cannot open: {}", dir.string(), std::strerror(errno)));
  }
  UniqueFd probe(open_beneath(root.get(), "", O_PATH | O_DIRECTORY));
  if (probe.get() < 0) {
    if (errno == ENOSYS) {
      return make_error(Errc::unavailable,
                        "this kernel has no openat2, which unpacking an image safely needs; "
                        "run on Linux 5.6 or later (or allow openat2 in the seccomp profile)");
    }
    return make_error(Errc::internal,
                      fmt::format("{}: cannot open: {}", dir.string(), std::strerror(errno)));
  }
  return ReleaseRoot(std::move(root));
}

Result<UniqueFd> ReleaseRoot::parent_of(std::string_view path, bool create) const {
  std::string_view parent = split_last(path).first;
  UniqueFd fd(open_beneath(m_root.get(), parent, O_PATH | O_DIRECTORY));
  if (fd.get() >= 0) {
    return fd;
  }
  if (errno != ENOENT || !create) {
    return lookup_error(parent, errno);
  }
  // Create the missing directories one by one, each inside what the root resolved so far.
  UniqueFd dir(open_beneath(m_root.get(), "", O_PATH | O_DIRECTORY));
  size_t start = 0;
  while (start < parent.size()) {
    size_t end = parent.find('/', start);
    if (end == std::string_view::npos) {
      end = parent.size();
    }
    std::string_view prefix = parent.substr(0, end);
    std::string name(parent.substr(start, end - start));
    UniqueFd next(open_beneath(m_root.get(), prefix, O_PATH | O_DIRECTORY));
    if (next.get() < 0 && errno == ENOENT) {
      if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        return sys_error("cannot create the directory", prefix);
      }
      next = UniqueFd(open_beneath(m_root.get(), prefix, O_PATH | O_DIRECTORY));
    }
    if (next.get() < 0) {
      return lookup_error(prefix, errno);
    }
    dir = std::move(next);
    start = end + 1;
  }
  return dir;
}

Result<void> ReleaseRoot::make_dir(std::string_view path, unsigned mode, std::int64_t mtime) {
  ZTP_ASSIGN_OR_RETURN(auto parent, parent_of(path, true));
  std::string name(split_last(path).second);
  struct stat st {};
  bool keep =
      ::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
  if (!keep) {
    ZTP_TRY(replace_at(parent.get(), name));
    if (::mkdirat(parent.get(), name.c_str(), 0755) != 0) {
      return sys_error("cannot create the directory", path);
    }
  }
  m_dirs[std::string(path)] = DirMeta{mode & 01777, mtime};
  return {};
}

Result<UniqueFd> ReleaseRoot::create_file(std::string_view path) {
  ZTP_ASSIGN_OR_RETURN(auto parent, parent_of(path, true));
  std::string name(split_last(path).second);
  ZTP_TRY(replace_at(parent.get(), name));
  UniqueFd fd(::openat(parent.get(), name.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return sys_error("cannot create", path);
  }
  return fd;
}

Result<void> ReleaseRoot::make_symlink(std::string_view path, const std::string& target,
                                       std::int64_t mtime) {
  ZTP_ASSIGN_OR_RETURN(auto parent, parent_of(path, true));
  std::string name(split_last(path).second);
  ZTP_TRY(replace_at(parent.get(), name));
  if (::symlinkat(target.c_str(), parent.get(), name.c_str()) != 0) {
    return sys_error("cannot create the symlink", path);
  }
  timespec times[2] = {to_timespec(mtime), to_timespec(mtime)};
  ::utimensat(parent.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW);
  return {};
}

Result<void> ReleaseRoot::make_hardlink(std::string_view path, std::string_view target) {
  auto target_parent = parent_of(target, false);
  if (!target_parent.ok()) {
    Error e = target_parent.take_error();
    if (e.code == Errc::not_found) {
      e.message = fmt::format("the hard link target \"{}\" does not exist", target);
    }
    return e;
  }
  std::string target_name(split_last(target).second);
  struct stat st {};
  if (::fstatat(target_parent->get(), target_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return make_error(Errc::invalid,
                      fmt::format("the hard link target \"{}\" does not exist", target));
  }
  if (S_ISDIR(st.st_mode)) {
    return make_error(Errc::invalid,
                      fmt::format("the hard link target \"{}\" is a directory", target));
  }
  if (path == target) {
    return {};
  }
  ZTP_ASSIGN_OR_RETURN(auto parent, parent_of(path, true));
  std::string name(split_last(path).second);
  ZTP_TRY(replace_at(parent.get(), name));
  if (::linkat(target_parent->get(), target_name.c_str(), parent.get(), name.c_str(), 0) != 0) {
    return sys_error("cannot create the hard link", path);
  }
  return {};
}

Result<void> ReleaseRoot::remove(std::string_view path) {
  auto parent = parent_of(path, false);
  if (!parent.ok()) {
    Error e = parent.take_error();
    if (e.code == Errc::not_found || e.code == Errc::invalid) {
      return {};  // nothing there to remove
    }
    return e;
  }
  return remove_at(parent->get(), std::string(split_last(path).second));
}

Result<void> ReleaseRoot::clear_dir(std::string_view path) {
  UniqueFd dir(open_beneath(m_root.get(), path, O_RDONLY | O_DIRECTORY));
  if (dir.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return {};
    }
    return lookup_error(path, errno);
  }
  return remove_children(dir.get());
}

Result<void> ReleaseRoot::check_links() const {
  // Depth-first over real directories only; each symlink is resolved from the root.
  std::vector<std::string> pending{""};
  while (!pending.empty()) {
    std::string rel = std::move(pending.back());
    pending.pop_back();
    UniqueFd dir(open_beneath(m_root.get(), rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (dir.get() < 0) {
      return lookup_error(rel, errno);
    }
    auto names = names_in(dir.get());
    if (!names.ok()) {
      return names.take_error();
    }
    for (const auto& n : names.value()) {
      std::string path = rel.empty() ? n : rel + "/" + n;
      struct stat st {};
      if (::fstatat(dir.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return sys_error("cannot stat", path);
      }
      if (S_ISDIR(st.st_mode)) {
        pending.push_back(path);
      } else if (S_ISLNK(st.st_mode)) {
        UniqueFd resolved(open_beneath(m_root.get(), path, O_PATH));
        if (resolved.get() < 0 && errno == EXDEV) {
          return make_error(Errc::refused,
                            fmt::format("the symlink \"{}\" resolves outside the release "
                                        "directory through other links",
                                        path));
        }
        // A dangling link or a loop of links leads nowhere, outside included.
      }
    }
  }
  return {};
}

Result<void> ReleaseRoot::finish() {
  // Reverse path order puts children before their parents, so setting a parent's mtime last
  // sticks.
  for (auto it = m_dirs.rbegin(); it != m_dirs.rend(); ++it) {
    UniqueFd dir(open_beneath(m_root.get(), it->first, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (dir.get() < 0) {
      continue;  // removed or replaced by a later layer
    }
    if (::fchmod(dir.get(), it->second.mode) != 0) {
      return sys_error("cannot set the mode of", it->first);
    }
    timespec times[2] = {to_timespec(it->second.mtime), to_timespec(it->second.mtime)};
    if (::futimens(dir.get(), times) != 0) {
      return sys_error("cannot set the time of", it->first);
    }
  }
  m_dirs.clear();
  return {};
}

}  // namespace ztp::artifact
