#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ztp::testing {

// The project's root (where CMakeLists.txt is).
std::filesystem::path source_dir();
// Where the third-party test vectors of tests/vectors.lock are: $ZTP_VECTORS_DIR, else
// ../shared/vectors beside the project's root.
std::filesystem::path vectors_dir();
// vectors_dir() / `relative`. When it is missing, fails the current test with how to get it
// (ZTP_VECTORS_DIR, scripts/fetch-vectors.sh) and still returns the path.
std::filesystem::path vector_path(const std::string& relative);
// The ztp binary under test.
std::filesystem::path ztp_binary();

// Path of `tool` on PATH (or in /usr/sbin, /sbin), or empty. Use with REQUIRE_TOOL.
std::string find_tool(const std::string& tool);

// Fails the current test (never skips) when `tool` is missing, naming the package to install.
#define REQUIRE_TOOL(tool, package)                                                   \
  do {                                                                                \
    if (::ztp::testing::find_tool(tool).empty()) {                                    \
      FAIL() << "'" << tool << "' is not installed: run `apt-get install " << package \
             << "` (or scripts/install-deps.sh)";                                     \
    }                                                                                 \
  } while (false)

// A fresh directory under the system temp dir, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& rel) const { return m_path / rel; }

 private:
  std::filesystem::path m_path;
};

// Sets the process's umask for one scope; file-mode tests use 0, the most permissive, so that
// a mode they see is the one the code chose.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : m_old(::umask(mask)) {}
  ~ScopedUmask() { ::umask(m_old); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t m_old;
};

// The permission bits of `path` (0 when it cannot be stat'ed).
inline unsigned file_mode(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

// A TCP port on 127.0.0.1 that was free when asked (the OS picks it).
int free_port();

// Outcome of a finished child process.
struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;     // standard output
  std::string err;     // standard error
};

// Runs argv[0] (searched on PATH) with `env` added to the environment, waits up to `timeout`
// (then kills it), captures its output.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env = {},
                          std::chrono::seconds timeout = std::chrono::seconds(120),
                          const std::filesystem::path& cwd = {});

// Runs `git -C repo ARGS` with `env` added; a failure fails the calling test with git's
// error. Returns git's standard output.
std::string git_in(const std::filesystem::path& repo, const std::vector<std::string>& args,
                   const std::vector<std::string>& env);
// `git add -A` and `git commit -q -m message` in `repo`; returns the new commit's SHA.
std::string commit_all(const std::filesystem::path& repo, const std::string& message,
                       const std::vector<std::string>& env);

// The first port of a replica port range (up to 1000 ports) for a test: below the kernel's
// ephemeral port range, where free_port() never lands, so no listen port of the test falls
// inside it; `seed` (e.g. a free port) spreads concurrent tests apart.
int replica_port_range_start(int seed);

// The whole file at `p` ("" when it cannot be read).
std::string read_text(const std::filesystem::path& p);
// Writes `text` to `p`, creating its directory.
void write_text(const std::filesystem::path& p, const std::string& text);

// Starts argv[0] (a path) in the background with `env` added to the environment, in `cwd`
// (when given), its standard output and error into `log`. The pid, or -1 when it could not
// start; the caller waits for or kills it.
pid_t spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    const std::filesystem::path& log, const std::filesystem::path& cwd = {});

// Runs the ztp binary with `args`.
ProcessResult run_ztp(const std::vector<std::string>& args,
                      const std::vector<std::string>& env = {},
                      const std::filesystem::path& cwd = {},
                      std::chrono::seconds timeout = std::chrono::seconds(300));

// Polls `cond` every 20 ms until it holds or `timeout` passes; returns its last value.
bool wait_until(const std::function<bool()>& cond,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Sets environment variables of this process for one scope (an empty value unsets one) and
// puts back what was there before.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, std::string>> vars);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::vector<std::pair<const char*, std::optional<std::string>>> m_saved;
};

// A blocking HTTP/1.1 GET over loopback (no keep-alive). status -1 when it could not connect.
struct HttpResponse {
  int status = -1;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const;
};
HttpResponse http_get(int port, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace ztp::testing
