#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

struct git_repository;

namespace ztp::source {

// One commit, as the pipeline names and shows it.
struct CommitInfo {
  std::string sha;                   // full 40 hex
  std::string short_sha;             // first 7
  std::int64_t time = 0;             // committer time, seconds since the epoch
  std::string summary;               // first line of the message, trimmed
  std::string author;                // "Name <email>"
  std::vector<std::string> parents;  // full SHAs
};

// One entry of a commit's tree below a folder: path relative to that folder, '/'-separated.
// `mode` is the git file mode as the tree records it: 0100644 or 0100755 (file), 040000 (dir),
// 0120000 (symlink). `content` is a file's bytes as committed (no checkout filters) or a
// symlink's target; empty for a directory, and for a file read with FileBytes::defer, whose
// bytes GitRepo::read_blob gives by `blob_id` (the blob's SHA) when they are wanted.
struct TreeFile {
  std::string path;
  enum class Kind { file, dir, symlink } kind = Kind::file;
  unsigned mode = 0;
  std::string content;
  std::string blob_id{};
};

// Whether read_tree reads the files' bytes (load) or only names their blobs (defer), so that a
// large tree is never held in memory whole.
enum class FileBytes { load, defer };

// Says whether read_tree leaves out `path` (relative to the folder read); a directory left out
// is left out with everything under it.
using TreeFilter = std::function<bool(std::string_view path)>;

// A git repository opened with libgit2. Move-only; every libgit2 object it makes is freed
// before the call returns. One GitRepo must not be used by two threads at once (open one per
// thread). Errors carry libgit2's text and what was being done.
class GitRepo {
 public:
  // Opens the repository at `path` (a work tree or a bare repository; no upward discovery beyond
  // it). not_found, saying to run `git init` or set source.repo, when there is none.
  static Result<GitRepo> open(const std::filesystem::path& path);

  GitRepo(GitRepo&&) noexcept;
  GitRepo& operator=(GitRepo&&) noexcept;
  ~GitRepo();

  // The repository's directory as opened, absolute.
  const std::filesystem::path& path() const { return m_path; }

  // Any revision git understands: "main", "HEAD", a full or short SHA, "main~1", a tag.
  // not_found names the revision; invalid for an ambiguous short SHA or a non-commit.
  Result<CommitInfo> resolve(std::string_view rev) const;
  // The tip of local branch `branch` (refs/heads/<branch>); not_found lists the branches there.
  Result<CommitInfo> branch_tip(const std::string& branch) const;

  // Paths (files, '/'-separated, sorted, deduped) that commit `sha` changed against its first
  // parent; every path of its tree for a root commit. Renames list both old and new paths.
  Result<std::vector<std::string>> changed_paths(const std::string& sha) const;

  // The tree of commit `sha` below `subdir` ("" or "." = root), recursively, sorted by path in
  // byte order (so parents come before children). invalid when `subdir` is not a directory in
  // that commit, or for a submodule (gitlink) in the tree, naming its path.
  Result<std::vector<TreeFile>> read_tree(const std::string& sha, const std::string& subdir) const;
  // The same, leaving out what `skip` says (whose blobs are then never read, and whose
  // submodules are no error).
  Result<std::vector<TreeFile>> read_tree(const std::string& sha, const std::string& subdir,
                                          const TreeFilter& skip,
                                          FileBytes bytes = FileBytes::load) const;
  // The bytes of blob `blob_id` (a TreeFile's), as committed; `path` names it in an error.
  Result<std::string> read_blob(const std::string& blob_id, std::string_view path) const;

  // Commits reachable from `to` but not from `from` (oldest first, parents before children):
  // what a poller that saw `from` last has not seen. `from` empty: just `to`.
  Result<std::vector<CommitInfo>> commits_between(const std::string& from,
                                                  const std::string& to) const;

  // URL of remote "origin" as configured, without any user information (a token), else the
  // absolute repository path: the image's source label.
  std::string source_url() const;

 private:
  struct Closer {
    void operator()(git_repository* repo) const;
  };
  GitRepo(std::filesystem::path path, git_repository* repo);

  std::filesystem::path m_path;
  std::unique_ptr<git_repository, Closer> m_repo;
};

// A folder of a tree as read_tree takes it: "" for the root ("", ".", "./"), else without a
// leading "./" or a trailing "/". invalid for an absolute path or one with "..".
Result<std::string> normalize_tree_folder(std::string_view subdir);

// `url` without the user information of a URL with a scheme ("https://user:token@host/x" ->
// "https://host/x"); scp-like addresses ("git@host:org/app.git") and paths are returned as they
// are.
std::string strip_credentials(std::string_view url);

}  // namespace ztp::source
