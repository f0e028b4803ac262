#include "source/git_fetch.hpp"

#include <fmt/format.h>
#include <git2.h>

#include <cctype>
#include <memory>

#include "source/git_auth.hpp"

namespace ztp::source {
namespace {

// The mirror fetches branches onto its own branches: refs/heads/<b> is the remote's <b>.
constexpr const char* k_mirror_refspec = "+refs/heads/*:refs/heads/*";
constexpr const char* k_remote = "origin";

// Holds libgit2's (reference-counted) global state for the length of one call.
struct LibGit2 {
  LibGit2() { git_libgit2_init(); }
  ~LibGit2() { git_libgit2_shutdown(); }
  LibGit2(const LibGit2&) = delete;
  LibGit2& operator=(const LibGit2&) = delete;
};

struct RepoFree {
  void operator()(git_repository* r) const { git_repository_free(r); }
};
struct RemoteFree {
  void operator()(git_remote* r) const { git_remote_free(r); }
};
using RepoPtr = std::unique_ptr<git_repository, RepoFree>;
using RemotePtr = std::unique_ptr<git_remote, RemoteFree>;

std::string last_git_error(int code) {
  const git_error* last = git_error_last();
  return last != nullptr && last->message != nullptr ? last->message
                                                     : fmt::format("libgit2 error {}", code);
}

Result<RepoPtr> open_or_init_mirror(const std::filesystem::path& path) {
  git_repository* raw = nullptr;
  std::error_code ec;
  int rc = 0;
  if (std::filesystem::exists(path / "HEAD", ec)) {
    rc = git_repository_open_bare(&raw, path.c_str());
  } else {
    std::filesystem::create_directories(path.parent_path(), ec);
    rc = git_repository_init(&raw, path.c_str(), 1);
  }
  if (rc != 0) {
    return make_error(Errc::internal,
                      fmt::format("source mirror {}: {}; remove the folder and the next fetch "
                                  "makes it again",
                                  path.string(), last_git_error(rc)));
  }
  return RepoPtr(raw);
}

// The mirror's remote, pointed at `url` (the spec may have changed it).
Result<RemotePtr> mirror_remote(git_repository* repo, const std::filesystem::path& path,
                                const std::string& url) {
  git_remote* raw = nullptr;
  int rc = git_remote_lookup(&raw, repo, k_remote);
  if (rc == GIT_ENOTFOUND) {
    rc = git_remote_create_with_fetchspec(&raw, repo, k_remote, url.c_str(), k_mirror_refspec);
  } else if (rc == 0 && url != git_remote_url(raw)) {
    git_remote_free(raw);
    raw = nullptr;
    rc = git_remote_set_url(repo, k_remote, url.c_str());
    if (rc == 0) {
      rc = git_remote_lookup(&raw, repo, k_remote);
    }
  }
  if (rc != 0) {
    return make_error(Errc::internal,
                      fmt::format("source mirror {}: setting its remote to {}: {}", path.string(),
                                  strip_credentials(url), last_git_error(rc)));
  }
  return RemotePtr(raw);
}

}  // namespace

bool is_remote_repo(std::string_view repo) {
  if (repo.find("://") != std::string_view::npos) {
    return true;
  }
  // scp-like: host:path, with the colon before any slash (git's own rule).
  size_t colon = repo.find(':');
  size_t slash = repo.find('/');
  return colon != std::string_view::npos && colon > 0 &&
         (slash == std::string_view::npos || colon < slash);
}

std::filesystem::path mirror_path(const std::filesystem::path& home, std::string_view url) {
  std::string clean = strip_credentials(url);
  if (auto scheme = clean.find("://"); scheme != std::string::npos) {
    clean.erase(0, scheme + 3);
  }
  std::string name;
  for (char c : clean) {
    bool keep =
        std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
    if (keep) {
      name.push_back(c);
    } else if (!name.empty() && name.back() != '-') {
      name.push_back('-');
    }
  }
  while (!name.empty() && (name.back() == '-' || name.back() == '.')) {
    name.pop_back();
  }
  if (name.ends_with(".git")) {
    name.resize(name.size() - 4);
  }
  if (name.empty()) {
    name = "repo";
  }
  return home / "source" / (name + ".git");
}

Result<std::filesystem::path> fetch_mirror(const std::filesystem::path& home,
                                           const std::string& url) {
  LibGit2 libgit2;
  std::filesystem::path path = mirror_path(home, url);
  ZTP_ASSIGN_OR_RETURN(auto repo, open_or_init_mirror(path));
  ZTP_ASSIGN_OR_RETURN(auto remote, mirror_remote(repo.get(), path, url));
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  opts.prune = GIT_FETCH_PRUNE;
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  GitAuth auth(url);
  auth.install(opts.callbacks);
  int rc = git_remote_fetch(remote.get(), nullptr, &opts, "ztp: fetch");
  if (rc != 0) {
    // A refused login or host key says what to do; otherwise libgit2's message.
    std::string why =
        auth.refusal().empty()
            ? last_git_error(rc) + "; check source.repo and that this machine may read it"
            : auth.refusal();
    return make_error(Errc::unavailable, fmt::format("fetching {} into {}: {}",
                                                     strip_credentials(url), path.string(), why));
  }
  return path;
}

std::filesystem::path source_repo_path(const spec::Spec& spec, const std::filesystem::path& home) {
  if (is_remote_repo(spec.source.repo)) {
    return mirror_path(home, spec.source.repo);
  }
  return spec.base_dir() / spec.source.repo;
}

Result<GitRepo> open_source_repo(const spec::Spec& spec, const std::filesystem::path& home,
                                 bool fetch) {
  if (fetch && is_remote_repo(spec.source.repo)) {
    ZTP_TRY(fetch_mirror(home, spec.source.repo));
  }
  return GitRepo::open(source_repo_path(spec, home));
}

}  // namespace ztp::source
