// scripts/fetch-vectors.sh against a local HTTP server (python3 -m http.server on 127.0.0.1)
// serving a folder laid out like raw.githubusercontent.com (OWNER/REPO/COMMIT/PATH): good files
// are fetched and verified into the cache, a tampered file is refused, an unreachable server
// says what to do; and tests/vectors.lock matches the vectors the tests read.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

#include "artifact/digest.hpp"
#include "support/support.hpp"

namespace ztp {
namespace {

using testing::read_text;
using testing::run_process;
using testing::write_text;

struct Upstream {
  std::string local;  // path under the vectors folder
  std::string repo;
  std::string commit;
  std::string path;  // path in the repository
  std::string content;
};

const std::vector<Upstream>& upstream_files() {
  static const std::vector<Upstream> files{
      {"hooks/push/payload.json", "example/hooks", "1111111111111111111111111111111111111111",
       "payload-examples/push/payload.json", R"({"ref": "refs/heads/main"})"},
      {"schemas/defs.json", "example/spec", "2222222222222222222222222222222222222222",
       "schema/defs.json", R"({"id": "defs"})"},
  };
  return files;
}

class FetchVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_TOOL("python3", "python3");
    REQUIRE_TOOL("curl", "curl");
    REQUIRE_TOOL("sha256sum", "coreutils");
    std::string lock = "# a lock for the test\n\n";
    for (const auto& f : upstream_files()) {
      write_text(served() / f.repo / f.commit / f.path, f.content);
      lock += fmt::format("{}  {}  {}  {}  {}\n",
                          artifact::digest_hex(artifact::sha256_digest(f.content)), f.local, f.repo,
                          f.commit, f.path);
    }
    write_text(lock_path(), lock);
  }

  void TearDown() override {
    if (m_server > 0) {
      ::kill(m_server, SIGTERM);
      int status = 0;
      ::waitpid(m_server, &status, 0);
    }
  }

  // Serves served() on a free port of 127.0.0.1; the port.
  int serve() {
    int port = testing::free_port();
    m_server = testing::spawn_process(
        {"/usr/bin/env", "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
         served().string(), std::to_string(port)},
        {}, dir / "server.log");
    EXPECT_GT(m_server, 0);
    bool up = testing::wait_until([&] { return testing::http_get(port, "/").status == 200; },
                                  std::chrono::seconds(20));
    EXPECT_TRUE(up) << "python3 -m http.server did not answer:\n" << read_text(dir / "server.log");
    return port;
  }

  testing::ProcessResult fetch(const std::string& base_url, const std::filesystem::path& cache) {
    return run_process({(testing::source_dir() / "scripts" / "fetch-vectors.sh").string()},
                       {"ZTP_VECTORS_BASE_URL=" + base_url, "ZTP_VECTORS_CACHE=" + cache.string(),
                        "ZTP_VECTORS_LOCK=" + lock_path().string()},
                       std::chrono::seconds(120));
  }

  // Every file under `root`, relative to it.
  static std::vector<std::string> files_under(const std::filesystem::path& root) {
    std::vector<std::string> out;
    if (!std::filesystem::exists(root)) {
      return out;
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) {
        out.push_back(std::filesystem::relative(e.path(), root).string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::filesystem::path served() const { return dir / "upstream"; }
  std::filesystem::path lock_path() const { return dir / "vectors.lock"; }

  testing::TempDir dir;

 private:
  pid_t m_server = -1;
};

TEST_F(FetchVectorsTest, FetchesAndVerifiesEveryFileIntoTheCache) {
  int port = serve();
  auto cache = dir / "cache" / "ztp" / "vectors";
  auto r = fetch("http://127.0.0.1:" + std::to_string(port), cache);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, cache.string() + "\n") << "the cache is printed for ZTP_VECTORS_DIR";
  for (const auto& f : upstream_files()) {
    EXPECT_EQ(read_text(cache / f.local), f.content) << f.local;
  }
  EXPECT_EQ(files_under(cache),
            (std::vector<std::string>{"hooks/push/payload.json", "schemas/defs.json"}));
  // What is in the cache with the right sum is kept: no network needed the second time.
  auto again = fetch("http://127.0.0.1:1", cache);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("0 file(s) fetched"), std::string::npos) << again.err;
}

TEST_F(FetchVectorsTest, RefusesAFileWhoseSumDoesNotMatch) {
  const auto& tampered = upstream_files()[1];
  write_text(served() / tampered.repo / tampered.commit / tampered.path, R"({"id": "evil"})");
  int port = serve();
  auto cache = dir / "cache";
  auto r = fetch("http://127.0.0.1:" + std::to_string(port), cache);
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("refused http://127.0.0.1:" + std::to_string(port) + "/" + tampered.repo +
                       "/" + tampered.commit + "/" + tampered.path),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("SHA-256"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ZTP_VECTORS_DIR"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "no cache is offered when a file is missing: " << r.out;
  // The good file is there, the refused one is not, and no partial download is left behind.
  EXPECT_EQ(files_under(cache), std::vector<std::string>{"hooks/push/payload.json"});

  // A tampered copy in the cache itself is not trusted either: it is fetched again.
  write_text(cache / tampered.local, "changed");
  write_text(served() / tampered.repo / tampered.commit / tampered.path, tampered.content);
  auto fixed = fetch("http://127.0.0.1:" + std::to_string(port), cache);
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_EQ(read_text(cache / tampered.local), tampered.content);
}

TEST_F(FetchVectorsTest, AnUnreachableServerSaysWhatToDo) {
  int closed = testing::free_port();  // nothing listens there
  auto cache = dir / "cache";
  auto r = fetch("http://127.0.0.1:" + std::to_string(closed), cache);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot download http://127.0.0.1:" + std::to_string(closed) + "/"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("ZTP_VECTORS_DIR"), std::string::npos) << r.err;
  EXPECT_TRUE(files_under(cache).empty());
}

// Every file of tests/vectors.lock is in the vectors folder the tests read, with its sum.
TEST(VectorsLock, MatchesTheVectorsTheTestsRead) {
  auto check = run_process({(testing::source_dir() / "scripts" / "fetch-vectors.sh").string(),
                            "--check", testing::vectors_dir().string()});
  EXPECT_EQ(check.exit_code, 0) << check.err
                                << "\n(set ZTP_VECTORS_DIR, or run scripts/fetch-vectors.sh)";
}

}  // namespace
}  // namespace ztp
