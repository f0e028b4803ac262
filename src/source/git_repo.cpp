#include "source/git_repo.hpp"

#include <fmt/format.h>
#include <git2.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace ztp::source {
namespace {

// libgit2's global state, set up once for the process (thread-safe static initialisation) and
// torn down at exit, after every GitRepo made since.
void ensure_libgit2() {
  struct Library {
    Library() { git_libgit2_init(); }
    ~Library() { git_libgit2_shutdown(); }
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;
  };
  static Library library;
}

template <typename T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Freer<T, Free>>;

using ObjectPtr = Owned<git_object, git_object_free>;
using CommitPtr = Owned<git_commit, git_commit_free>;
using TreePtr = Owned<git_tree, git_tree_free>;
using TreeEntryPtr = Owned<git_tree_entry, git_tree_entry_free>;
using BlobPtr = Owned<git_blob, git_blob_free>;
using DiffPtr = Owned<git_diff, git_diff_free>;
using RevwalkPtr = Owned<git_revwalk, git_revwalk_free>;
using ReferencePtr = Owned<git_reference, git_reference_free>;
using ConfigPtr = Owned<git_config, git_config_free>;
using BranchIteratorPtr = Owned<git_branch_iterator, git_branch_iterator_free>;

// libgit2's last error for a failed call, with what was being done.
Error git_failure(int code, std::string_view doing) {
  const git_error* last = git_error_last();
  std::string detail = last != nullptr && last->message != nullptr
                           ? last->message
                           : fmt::format("libgit2 error {}", code);
  Errc errc = Errc::internal;
  if (code == GIT_ENOTFOUND) {
    errc = Errc::not_found;
  } else if (code == GIT_EAMBIGUOUS || code == GIT_EINVALIDSPEC) {
    errc = Errc::invalid;
  }
  return make_error(errc, fmt::format("{}: {}", doing, detail));
}

std::string oid_hex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

std::string first_line(const char* message) {
  std::string_view m = message != nullptr ? message : "";
  while (!m.empty() && std::isspace(static_cast<unsigned char>(m.front())) != 0) {
    m.remove_prefix(1);
  }
  m = m.substr(0, m.find('\n'));
  while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back())) != 0) {
    m.remove_suffix(1);
  }
  return std::string(m);
}

CommitInfo info_of(const git_commit* commit) {
  CommitInfo info;
  info.sha = oid_hex(git_commit_id(commit));
  info.short_sha = info.sha.substr(0, 7);
  info.time = git_commit_time(commit);
  info.summary = first_line(git_commit_message(commit));
  const git_signature* author = git_commit_author(commit);
  info.author = fmt::format("{} <{}>", author->name, author->email);
  for (unsigned i = 0; i < git_commit_parentcount(commit); ++i) {
    info.parents.push_back(oid_hex(git_commit_parent_id(commit, i)));
  }
  return info;
}

}  // namespace

Result<std::string> normalize_tree_folder(std::string_view subdir) {
  std::string_view p = subdir;
  while (p.substr(0, 2) == "./") {
    p.remove_prefix(2);
  }
  while (!p.empty() && p.back() == '/') {
    p.remove_suffix(1);
  }
  if (p == ".") {
    p = {};
  }
  bool climbs = p == ".." || p.substr(0, 3) == "../" || p.find("/../") != std::string_view::npos ||
                (p.size() >= 3 && p.substr(p.size() - 3) == "/..");
  if ((!subdir.empty() && subdir.front() == '/') || climbs ||
      p.find('\0') != std::string_view::npos) {
    return make_error(Errc::invalid,
                      fmt::format("\"{}\" is not a folder inside the repository: give a path "
                                  "relative to the repository root, without \"..\"",
                                  subdir));
  }
  return std::string(p);
}

std::string strip_credentials(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return std::string(url);
  }
  size_t host = scheme + 3;
  size_t authority_end = url.find('/', host);
  std::string_view authority =
      url.substr(host, authority_end == std::string_view::npos ? std::string_view::npos
                                                               : authority_end - host);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) {
    return std::string(url);
  }
  return fmt::format("{}{}", url.substr(0, host), url.substr(host + at + 1));
}

void GitRepo::Closer::operator()(git_repository* repo) const { git_repository_free(repo); }

GitRepo::GitRepo(std::filesystem::path path, git_repository* repo)
    : m_path(std::move(path)), m_repo(repo) {}
GitRepo::GitRepo(GitRepo&&) noexcept = default;
GitRepo& GitRepo::operator=(GitRepo&&) noexcept = default;
GitRepo::~GitRepo() = default;

Result<GitRepo> GitRepo::open(const std::filesystem::path& path) {
  ensure_libgit2();
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec).lexically_normal();
  if (ec) {
    abs = path;
  }
  if (abs.has_relative_path() && !abs.has_filename()) {
    abs = abs.parent_path();  // no trailing separator
  }
  std::string hint = "run `git init` there or set source.repo in ztp.yaml";
  if (!std::filesystem::is_directory(abs, ec)) {
    return make_error(Errc::not_found, fmt::format("no git repository at {}: the directory does "
                                                   "not exist; {}",
                                                   abs.string(), hint));
  }
  git_repository* repo = nullptr;
  int rc = git_repository_open_ext(&repo, abs.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc == GIT_ENOTFOUND) {
    // Name the repository the folder sits in, if any: source.repo probably wants to point there.
    git_buf found = GIT_BUF_INIT;
    if (git_repository_discover(&found, abs.c_str(), 0, nullptr) == 0) {
      std::filesystem::path git_dir = std::filesystem::path(found.ptr).lexically_normal();
      git_buf_dispose(&found);
      std::filesystem::path top = git_dir.has_filename() ? git_dir : git_dir.parent_path();
      if (top.filename() == ".git") {
        top = top.parent_path();
      }
      return make_error(Errc::not_found,
                        fmt::format("no git repository at {}: it is a folder inside the "
                                    "repository at {}; set source.repo in ztp.yaml to that "
                                    "repository (and build.context to \"{}\"), or run `git "
                                    "init` at {}",
                                    abs.string(), top.string(),
                                    abs.lexically_relative(top).string(), abs.string()));
    }
    git_buf_dispose(&found);
    git_error_clear();
    return make_error(Errc::not_found,
                      fmt::format("no git repository at {}: {}", abs.string(), hint));
  }
  if (rc < 0) {
    return git_failure(rc, fmt::format("opening the git repository at {}", abs.string()));
  }
  return GitRepo(std::move(abs), repo);
}

namespace {

// The commit `rev` names in `repo` (at `where`, for messages).
Result<CommitPtr> lookup_commit(git_repository* repo, const std::filesystem::path& where,
                                std::string_view rev) {
  if (rev.empty() || rev.find('\0') != std::string_view::npos) {
    return make_error(Errc::invalid, fmt::format("\"{}\" is not a revision: give a branch, a tag "
                                                 "or a commit SHA",
                                                 rev));
  }
  std::string spec(rev);
  git_object* found = nullptr;
  int rc = git_revparse_single(&found, repo, spec.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
    git_error_clear();
    return make_error(Errc::not_found,
                      fmt::format("revision \"{}\" not found in the git repository at {}: check "
                                  "the branch, tag or SHA (`git log` lists the commits)",
                                  rev, where.string()));
  }
  if (rc == GIT_EAMBIGUOUS) {
    git_error_clear();
    return make_error(Errc::invalid, fmt::format("revision \"{}\" is ambiguous in the git "
                                                 "repository at {}: give more digits of the SHA",
                                                 rev, where.string()));
  }
  if (rc < 0) {
    return git_failure(rc, fmt::format("resolving revision \"{}\" in {}", rev, where.string()));
  }
  ObjectPtr object(found);
  git_object* peeled = nullptr;
  rc = git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT);
  if (rc < 0) {
    git_error_clear();
    return make_error(Errc::invalid,
                      fmt::format("revision \"{}\" in {} names a {}, not a commit", rev,
                                  where.string(), git_object_type2string(git_object_type(found))));
  }
  return CommitPtr(reinterpret_cast<git_commit*>(peeled));
}

Result<TreePtr> commit_tree(const git_commit* commit, std::string_view doing) {
  git_tree* tree = nullptr;
  int rc = git_commit_tree(&tree, commit);
  if (rc < 0) {
    return git_failure(rc, doing);
  }
  return TreePtr(tree);
}

// The bytes of blob `id`; `doing` says what for, in an error.
Result<std::string> blob_content(git_repository* repo, const git_oid* id,
                                 const std::string& doing) {
  git_blob* blob = nullptr;
  int rc = git_blob_lookup(&blob, repo, id);
  if (rc < 0) {
    return git_failure(rc, doing);
  }
  BlobPtr owned(blob);
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob)),
                     static_cast<size_t>(git_blob_rawsize(blob)));
}

struct TreeWalk {
  git_repository* repo;
  const TreeFilter& skip;
  std::string short_sha;
  FileBytes bytes;
  std::vector<TreeFile>& out;

  Result<void> walk(const git_tree* tree, const std::string& prefix) {
    for (size_t i = 0; i < git_tree_entrycount(tree); ++i) {
      const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
      std::string name = git_tree_entry_name(entry);
      std::string path = prefix.empty() ? name : prefix + "/" + name;
      if (skip && skip(path)) {
        continue;
      }
      auto mode = static_cast<unsigned>(git_tree_entry_filemode(entry));
      const git_oid* id = git_tree_entry_id(entry);
      if (mode == GIT_FILEMODE_TREE) {
        out.push_back(TreeFile{path, TreeFile::Kind::dir, mode, {}});
        git_tree* sub = nullptr;
        int rc = git_tree_lookup(&sub, repo, id);
        if (rc < 0) {
          return git_failure(rc,
                             fmt::format("reading folder \"{}\" of commit {}", path, short_sha));
        }
        TreePtr owned(sub);
        ZTP_TRY(walk(sub, path));
        continue;
      }
      if (mode == GIT_FILEMODE_COMMIT) {
        return make_error(Errc::invalid,
                          fmt::format("\"{}\" in commit {} is a git submodule, whose files are "
                                      "not in this repository: vendor its files or add it to "
                                      "build.exclude",
                                      path, short_sha));
      }
      TreeFile file{path, TreeFile::Kind::symlink, mode, {}};
      if ((mode & 0170000) == 0100000) {
        // Old gits also wrote 0100664 for a plain file.
        file.kind = TreeFile::Kind::file;
        file.mode = mode == GIT_FILEMODE_BLOB_EXECUTABLE ? mode : unsigned{GIT_FILEMODE_BLOB};
      } else if (mode != GIT_FILEMODE_LINK) {
        return make_error(Errc::invalid, fmt::format("\"{}\" in commit {} has an unknown git "
                                                     "mode {:o}",
                                                     path, short_sha, mode));
      }
      if (file.kind == TreeFile::Kind::file && bytes == FileBytes::defer) {
        file.blob_id = oid_hex(id);
      } else {
        ZTP_ASSIGN_OR_RETURN(
            file.content,
            blob_content(repo, id, fmt::format("reading \"{}\" of commit {}", path, short_sha)));
      }
      out.push_back(std::move(file));
    }
    return {};
  }
};

}  // namespace

Result<CommitInfo> GitRepo::resolve(std::string_view rev) const {
  ZTP_ASSIGN_OR_RETURN(auto commit, lookup_commit(m_repo.get(), m_path, rev));
  return info_of(commit.get());
}

Result<CommitInfo> GitRepo::branch_tip(const std::string& branch) const {
  std::string name = "refs/heads/" + branch;
  int valid = 0;
  if (branch.empty() || git_reference_name_is_valid(&valid, name.c_str()) < 0 || valid == 0) {
    git_error_clear();
    return make_error(Errc::invalid, fmt::format("\"{}\" is not a valid branch name: check "
                                                 "source.branch in ztp.yaml",
                                                 branch));
  }
  git_reference* ref = nullptr;
  int rc = git_reference_lookup(&ref, m_repo.get(), name.c_str());
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    std::vector<std::string> branches;
    git_branch_iterator* it = nullptr;
    if (git_branch_iterator_new(&it, m_repo.get(), GIT_BRANCH_LOCAL) == 0) {
      BranchIteratorPtr owned(it);
      git_reference* b = nullptr;
      git_branch_t type{};
      while (git_branch_next(&b, &type, it) == 0) {
        ReferencePtr owned_ref(b);
        const char* short_name = nullptr;
        if (git_branch_name(&short_name, b) == 0) {
          branches.emplace_back(short_name);
        }
      }
    }
    git_error_clear();
    std::sort(branches.begin(), branches.end());
    std::string there = branches.empty()
                            ? "it has no branch yet: commit the application first"
                            : fmt::format("its branches are {}", fmt::join(branches, ", "));
    return make_error(Errc::not_found,
                      fmt::format("branch \"{}\" not found in the git repository at {} ({}); "
                                  "check source.branch in ztp.yaml",
                                  branch, m_path.string(), there));
  }
  if (rc < 0) {
    return git_failure(rc, fmt::format("reading branch \"{}\" in {}", branch, m_path.string()));
  }
  ReferencePtr owned(ref);
  git_object* peeled = nullptr;
  rc = git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT);
  if (rc < 0) {
    return git_failure(
        rc, fmt::format("reading the tip of branch \"{}\" in {}", branch, m_path.string()));
  }
  CommitPtr commit(reinterpret_cast<git_commit*>(peeled));
  return info_of(commit.get());
}

Result<std::vector<std::string>> GitRepo::changed_paths(const std::string& sha) const {
  ZTP_ASSIGN_OR_RETURN(auto commit, lookup_commit(m_repo.get(), m_path, sha));
  std::string doing = fmt::format("listing the paths commit {} changed", sha);
  ZTP_ASSIGN_OR_RETURN(auto tree, commit_tree(commit.get(), doing));
  TreePtr parent_tree;
  if (git_commit_parentcount(commit.get()) > 0) {
    git_commit* parent = nullptr;
    int rc = git_commit_parent(&parent, commit.get(), 0);
    if (rc < 0) {
      return git_failure(rc, doing);
    }
    CommitPtr owned(parent);
    ZTP_ASSIGN_OR_RETURN(parent_tree, commit_tree(parent, doing));
  }
  git_diff* diff = nullptr;
  // Without rename detection a rename is a deletion and an addition: both paths, as wanted.
  int rc = git_diff_tree_to_tree(&diff, m_repo.get(), parent_tree.get(), tree.get(), nullptr);
  if (rc < 0) {
    return git_failure(rc, doing);
  }
  DiffPtr owned(diff);
  std::set<std::string> paths;
  for (size_t i = 0; i < git_diff_num_deltas(diff); ++i) {
    const git_diff_delta* delta = git_diff_get_delta(diff, i);
    for (const char* p : {delta->old_file.path, delta->new_file.path}) {
      if (p != nullptr && *p != '\0') {
        paths.insert(p);
      }
    }
  }
  return std::vector<std::string>(paths.begin(), paths.end());
}

Result<std::vector<TreeFile>> GitRepo::read_tree(const std::string& sha,
                                                 const std::string& subdir) const {
  return read_tree(sha, subdir, nullptr);
}

Result<std::vector<TreeFile>> GitRepo::read_tree(const std::string& sha, const std::string& subdir,
                                                 const TreeFilter& skip, FileBytes bytes) const {
  ZTP_ASSIGN_OR_RETURN(auto folder, normalize_tree_folder(subdir));
  ZTP_ASSIGN_OR_RETURN(auto commit, lookup_commit(m_repo.get(), m_path, sha));
  std::string short_sha = oid_hex(git_commit_id(commit.get())).substr(0, 7);
  ZTP_ASSIGN_OR_RETURN(
      TreePtr tree,
      commit_tree(commit.get(), fmt::format("reading the tree of commit {}", short_sha)));
  if (!folder.empty()) {
    git_tree_entry* entry = nullptr;
    int rc = git_tree_entry_bypath(&entry, tree.get(), folder.c_str());
    if (rc == GIT_ENOTFOUND) {
      git_error_clear();
      return make_error(Errc::invalid,
                        fmt::format("\"{}\" is not a directory in commit {}: there is no such "
                                    "path; check build.context in ztp.yaml and that the folder "
                                    "is committed",
                                    folder, short_sha));
    }
    if (rc < 0) {
      return git_failure(rc, fmt::format("finding \"{}\" in commit {}", folder, short_sha));
    }
    TreeEntryPtr owned(entry);
    if (git_tree_entry_type(entry) != GIT_OBJECT_TREE) {
      return make_error(
          Errc::invalid,
          fmt::format(
              "\"{}\" is not a directory in commit {}: it is a {}; check "
              "build.context in ztp.yaml",
              folder, short_sha,
              git_tree_entry_filemode(entry) == GIT_FILEMODE_COMMIT ? "submodule" : "file"));
    }
    git_tree* sub = nullptr;
    rc = git_tree_lookup(&sub, m_repo.get(), git_tree_entry_id(entry));
    if (rc < 0) {
      return git_failure(rc, fmt::format("reading \"{}\" of commit {}", folder, short_sha));
    }
    tree.reset(sub);
  }
  std::vector<TreeFile> out;
  TreeWalk walk{m_repo.get(), skip, short_sha, bytes, out};
  ZTP_TRY(walk.walk(tree.get(), ""));
  // Git orders a tree's entries as if folders ended in '/'; we promise plain byte order.
  std::sort(out.begin(), out.end(),
            [](const TreeFile& a, const TreeFile& b) { return a.path < b.path; });
  return out;
}

Result<std::string> GitRepo::read_blob(const std::string& blob_id, std::string_view path) const {
  git_oid id{};
  if (blob_id.size() != GIT_OID_HEXSZ || git_oid_fromstr(&id, blob_id.c_str()) < 0) {
    git_error_clear();
    return make_error(Errc::invalid,
                      fmt::format("\"{}\" is not a blob id (for \"{}\")", blob_id, path));
  }
  return blob_content(m_repo.get(), &id,
                      fmt::format("reading \"{}\" (blob {}) in {}", path,
                                  std::string_view(blob_id).substr(0, 7), m_path.string()));
}

Result<std::vector<CommitInfo>> GitRepo::commits_between(const std::string& from,
                                                         const std::string& to) const {
  ZTP_ASSIGN_OR_RETURN(auto tip, lookup_commit(m_repo.get(), m_path, to));
  if (from.empty()) {
    return std::vector<CommitInfo>{info_of(tip.get())};
  }
  ZTP_ASSIGN_OR_RETURN(auto seen, lookup_commit(m_repo.get(), m_path, from));
  std::string doing = fmt::format("listing the commits from {} to {}", from, to);
  git_revwalk* walk = nullptr;
  int rc = git_revwalk_new(&walk, m_repo.get());
  if (rc < 0) {
    return git_failure(rc, doing);
  }
  RevwalkPtr owned(walk);
  if ((rc = git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE)) < 0 ||
      (rc = git_revwalk_push(walk, git_commit_id(tip.get()))) < 0 ||
      (rc = git_revwalk_hide(walk, git_commit_id(seen.get()))) < 0) {
    return git_failure(rc, doing);
  }
  std::vector<CommitInfo> out;
  git_oid oid;
  while ((rc = git_revwalk_next(&oid, walk)) == 0) {
    git_commit* commit = nullptr;
    int lrc = git_commit_lookup(&commit, m_repo.get(), &oid);
    if (lrc < 0) {
      return git_failure(lrc, doing);
    }
    CommitPtr c(commit);
    out.push_back(info_of(commit));
  }
  if (rc != GIT_ITEROVER) {
    return git_failure(rc, doing);
  }
  git_error_clear();
  return out;
}

std::string GitRepo::source_url() const {
  // Read from the configuration rather than with git_remote_lookup, whose regex matching leaks
  // in libgit2 1.5 (fixed upstream by libgit2 pull request 6382).
  git_config* config = nullptr;
  if (git_repository_config_snapshot(&config, m_repo.get()) == 0) {
    ConfigPtr owned(config);
    const char* url = nullptr;
    if (git_config_get_string(&url, config, "remote.origin.url") == 0 && url != nullptr &&
        *url != '\0') {
      return strip_credentials(url);
    }
  }
  git_error_clear();
  return m_path.string();
}

}  // namespace ztp::source
