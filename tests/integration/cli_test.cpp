// The command line itself, through the ztp binary, on the sample application's spec with nothing
// deployed: what it says about a command it does not know, that `-o` is the output format after
// every command, and the JSON of `ztp logs`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/sample_app.hpp"
#include "support/support.hpp"

namespace ztp {
namespace {

using nlohmann::json;
using testing::run_ztp;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_text(dir / "ztp.yaml", testing::sample_app_yaml({.port = testing::free_port()}));
    env = {"ZTP_HOME=" + home().string()};
  }

  std::filesystem::path home() const { return dir / "home"; }

  // Runs ztp with `args` in the test's directory, on its spec.
  testing::ProcessResult ztp(std::vector<std::string> args) {
    args.insert(args.begin(), {"-f", (dir / "ztp.yaml").string()});
    return run_ztp(args, env, dir.path());
  }

  testing::TempDir dir;
  std::vector<std::string> env;
};

TEST_F(CliTest, AnUnknownCommandIsNamedWithTheNearestOne) {
  auto typo = ztp({"stauts"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_EQ(typo.err,
            "ztp: unknown command `stauts`: did you mean `status`? (`ztp --help` lists "
            "the commands)\n");

  auto far = ztp({"frobnicate", "dev"});
  EXPECT_EQ(far.exit_code, 1);
  EXPECT_NE(far.err.find("unknown command `frobnicate`: the commands are: "), std::string::npos)
      << far.err;
  EXPECT_NE(far.err.find("status"), std::string::npos) << far.err;
  EXPECT_EQ(far.err.find("A subcommand is required"), std::string::npos) << far.err;

  auto nested = ztp({"token", "lsit"});
  EXPECT_EQ(nested.exit_code, 1);
  EXPECT_NE(nested.err.find("unknown command `token lsit`: did you mean `list`?"),
            std::string::npos)
      << nested.err;

  auto as_json = ztp({"-o", "json", "stauts"});
  EXPECT_EQ(as_json.exit_code, 1);
  auto j = json::parse(as_json.out);
  EXPECT_EQ(j["error"]["code"], "invalid");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("did you mean `status`?"),
            std::string::npos);

  auto none = ztp({});
  EXPECT_EQ(none.exit_code, 1);
}

TEST_F(CliTest, DashOIsTheOutputFormatAfterEveryCommand) {
  auto bundle = dir / "bundle.tar.gz";
  auto ev = ztp({"evidence", "dev", "-o", "json", "--to", bundle.string()});
  ASSERT_EQ(ev.exit_code, 0) << ev.out << ev.err;
  auto written = json::parse(ev.out);
  EXPECT_EQ(written["file"], bundle.string());
  EXPECT_TRUE(std::filesystem::exists(bundle));
  EXPECT_FALSE(std::filesystem::exists(dir / "json")) << "-o is the format, never a file";

  // Without --to the bundle gets its default name here; -o still means the format.
  auto default_name = ztp({"evidence", "dev", "-o", "json"});
  ASSERT_EQ(default_name.exit_code, 0) << default_name.out << default_name.err;
  auto file = json::parse(default_name.out)["file"].get<std::string>();
  EXPECT_EQ(std::filesystem::path(file).filename().string().rfind("evidence-dev-", 0), 0u) << file;
  EXPECT_FALSE(std::filesystem::exists(dir / "json"));

  auto rep = ztp({"report", "dev", "-o", "json"});
  ASSERT_EQ(rep.exit_code, 0) << rep.out << rep.err;
  EXPECT_EQ(json::parse(rep.out)["title"], "environment dev");
  EXPECT_FALSE(std::filesystem::exists(dir / "json"));

  auto md = dir / "report.md";
  auto to_file = ztp({"report", "dev", "--to", md.string()});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.out << to_file.err;
  EXPECT_NE(testing::read_text(md).find("# Post-incident report: environment dev"),
            std::string::npos);
}

TEST_F(CliTest, LogsPrintJsonLinesWithOutputJson) {
  // The files a supervisor writes in each replica's directory.
  testing::write_text(home() / "envs" / "dev" / "dev-1" / "stdout.log",
                      "GET / 200\nGET /about.html 200\n");
  testing::write_text(home() / "envs" / "dev" / "dev-1" / "stderr.log", "warn: \"slow\"\n");

  auto r = ztp({"logs", "dev", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<json> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(json::parse(line));
  }
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(
      lines[0],
      (json{
          {"env", "dev"}, {"replica", "dev-1"}, {"stream", "stderr"}, {"line", "warn: \"slow\""}}));
  EXPECT_EQ(lines[1]["stream"], "stdout");
  EXPECT_EQ(lines[1]["line"], "GET / 200");
  EXPECT_EQ(lines[2]["line"], "GET /about.html 200");

  // Following streams the new lines as JSON too.
  auto followed = dir / "followed.jsonl";
  pid_t pid =
      testing::spawn_process({testing::ztp_binary().string(), "-f", (dir / "ztp.yaml").string(),
                              "logs", "dev", "-f", "-o", "json", "-n", "1"},
                             env, followed, dir.path());
  ASSERT_GT(pid, 0);
  // Once it printed the last line there, it follows from the end.
  bool started = testing::wait_until([&] {
    return testing::read_text(followed).find("GET /about.html 200") != std::string::npos;
  });
  if (!started) {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    FAIL() << testing::read_text(followed);
  }
  std::ofstream(home() / "envs" / "dev" / "dev-1" / "stdout.log", std::ios::app)
      << "GET /new 200\n";
  bool streamed = testing::wait_until([&] {
    return testing::read_text(followed).find(
               R"({"env":"dev","line":"GET /new 200","replica":"dev-1","stream":"stdout"})") !=
           std::string::npos;
  });
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  EXPECT_TRUE(streamed) << testing::read_text(followed);

  auto text = ztp({"logs", "dev"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("dev-1 out"), std::string::npos) << text.out;
  EXPECT_THROW(json::parse(text.out), json::parse_error);
}

}  // namespace
}  // namespace ztp
