#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "source/git_repo.hpp"
#include "spec/spec.hpp"
#include "util/result.hpp"

// Watching a remote repository: a bare mirror under ZTP_HOME that libgit2 fetches into, so the
// poller and the builder read a remote's commits as they read a local repository's.
namespace ztp::source {

// Whether source.repo names a remote (a URL with a scheme: https://, ssh://, git://, file://;
// or an scp-like address such as git@github.com:org/app.git) rather than a path.
bool is_remote_repo(std::string_view repo);

// Where the mirror of `url` lives: <home>/source/<url without credentials, as a file name>.git.
std::filesystem::path mirror_path(const std::filesystem::path& home, std::string_view url);

// Fetches every branch of `url` into its mirror (made on first use) so that the mirror's
// refs/heads are the remote's, branches deleted there pruned. Returns the mirror's path.
// unavailable, with libgit2's message and the URL without credentials, when the remote cannot
// be read.
Result<std::filesystem::path> fetch_mirror(const std::filesystem::path& home,
                                           const std::string& url);

// The local repository of the spec's source: the mirror of a remote, else
// spec.base_dir() / source.repo.
std::filesystem::path source_repo_path(const spec::Spec& spec, const std::filesystem::path& home);

// Opens the spec's source repository; a remote is fetched first when `fetch` (a remote never
// fetched cannot be opened).
Result<GitRepo> open_source_repo(const spec::Spec& spec, const std::filesystem::path& home,
                                 bool fetch);

}  // namespace ztp::source
