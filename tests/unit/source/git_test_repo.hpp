#pragma once

// A real git repository made with the git CLI, for the tests of source/ and of building from a
// commit. Every commit has the same author and committer and a time one minute after the one
// before, and no global or system git configuration is read, so SHAs are the same on every run
// and every machine.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "source/git_repo.hpp"
#include "support/support.hpp"
#include "util/fs.hpp"

namespace ztp::source::test {

// The committer time of the first commit a GitTestRepo makes: 2024-05-01T12:00:00Z.
inline constexpr std::int64_t k_first_commit_time = 1'714'564'800;

// The environment every git call of the tests runs with.
inline std::vector<std::string> git_env(std::int64_t time = k_first_commit_time) {
  std::string date = "@" + std::to_string(time) + " +0000";
  return {"GIT_CONFIG_NOSYSTEM=1",
          "GIT_CONFIG_GLOBAL=/dev/null",
          "GIT_AUTHOR_NAME=Ada Lovelace",
          "GIT_AUTHOR_EMAIL=ada@example.com",
          "GIT_COMMITTER_NAME=Ada Lovelace",
          "GIT_COMMITTER_EMAIL=ada@example.com",
          "GIT_AUTHOR_DATE=" + date,
          "GIT_COMMITTER_DATE=" + date,
          "GIT_TERMINAL_PROMPT=0"};
}

// Runs `git args...`; a failure fails the test. Returns standard output without its last newline.
inline std::string run_git(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = git_env()) {
  std::vector<std::string> argv{"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = ztp::testing::run_process(argv, env, std::chrono::seconds(60));
  std::string cmd;
  for (const auto& a : argv) {
    cmd += a + " ";
  }
  EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  while (!r.out.empty() && r.out.back() == '\n') {
    r.out.pop_back();
  }
  return r.out;
}

class GitTestRepo {
 public:
  // `git init -b <branch>` in `dir` (created when missing; files already there stay).
  explicit GitTestRepo(std::filesystem::path dir, const std::string& branch = "main")
      : m_dir(std::move(dir)) {
    std::filesystem::create_directories(m_dir);
    run_git({"init", "-q", "-b", branch, m_dir.string()});
    git({"config", "user.name", "Ada Lovelace"});
    git({"config", "user.email", "ada@example.com"});
  }

  const std::filesystem::path& path() const { return m_dir; }
  std::filesystem::path operator/(const std::string& rel) const { return m_dir / rel; }

  // `git -C <repo> args...` at the time of the next commit.
  std::string git(const std::vector<std::string>& args) {
    std::vector<std::string> all{"-C", m_dir.string()};
    all.insert(all.end(), args.begin(), args.end());
    return run_git(all, git_env(next_time()));
  }

  // Writes a file of the working tree (creating its folders) with `mode`.
  void write(const std::string& rel, const std::string& content, unsigned mode = 0644) {
    std::filesystem::create_directories((m_dir / rel).parent_path());
    EXPECT_TRUE(fs::atomic_write(m_dir / rel, content, mode).ok()) << rel;
  }
  void symlink(const std::string& target, const std::string& rel) {
    std::filesystem::create_directories((m_dir / rel).parent_path());
    std::filesystem::create_symlink(target, m_dir / rel);
  }
  void remove(const std::string& rel) { std::filesystem::remove_all(m_dir / rel); }

  // Commits what is staged (with `stage_all`, after `git add -A`); returns the new HEAD's SHA.
  std::string commit(const std::string& message, bool stage_all = true) {
    if (stage_all) {
      git({"add", "-A"});
    }
    git({"commit", "-q", "--allow-empty", "--no-verify", "-m", message});
    ++m_commits;
    return git({"rev-parse", "HEAD"});
  }

  // Merges `branch` into the current branch with a merge commit; returns its SHA.
  std::string merge(const std::string& branch, const std::string& message) {
    git({"merge", "-q", "--no-ff", "--no-edit", "-m", message, branch});
    ++m_commits;
    return git({"rev-parse", "HEAD"});
  }

  // The committer time the next commit gets.
  std::int64_t next_time() const { return k_first_commit_time + 60 * m_commits; }

 private:
  std::filesystem::path m_dir;
  int m_commits = 0;
};

// The repository at `path`, opened with GitRepo; a failure fails the test.
inline GitRepo open_git_repo(const std::filesystem::path& path) {
  auto repo = GitRepo::open(path);
  EXPECT_TRUE(repo.ok()) << repo.error().message;
  return std::move(repo.value());
}

// The `path` of each of `items` (tree files, layer entries), in order.
template <typename T>
std::vector<std::string> paths_of(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    out.push_back(item.path);
  }
  return out;
}

// A test with a fresh temporary directory `dir()` and a repository `repo()` at dir()/app, on
// branch main with no commit yet; it fails before the test body when git is missing.
class GitRepoFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("git", "git");
    m_repo.emplace(m_dir / "app");
  }
  const ztp::testing::TempDir& dir() const { return m_dir; }
  GitTestRepo& repo() { return *m_repo; }
  // repo() opened with GitRepo.
  GitRepo open() const { return open_git_repo(m_repo->path()); }

 private:
  ztp::testing::TempDir m_dir;
  std::optional<GitTestRepo> m_repo;
};

}  // namespace ztp::source::test
