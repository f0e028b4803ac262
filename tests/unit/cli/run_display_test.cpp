#include "cli/run_display.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>

#include "util/log.hpp"

namespace ztp::cli {
namespace {

// What was written to `f`, from its start.
std::string content(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
    out.append(buf, n);
  }
  return out;
}

// The display's events of a rollout in dev, enough to show its status line.
void rolling(engine::Progress& progress) {
  progress({"stage.started",
            "rolling dev to abc1234",
            {{"env", "dev"}, {"run", 7}, {"stage", "rollout"}}});
  progress({"rollout.started", "release 2", {{"env", "dev"}, {"run", 7}, {"release", "2"}}});
}

TEST(RunDisplayTest, LogLinesGoThroughTheDisplayAndNeverCutTheStatusLine) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    RunDisplay display(out, /*tty=*/true);
    auto progress = display.progress();
    rolling(progress);
    std::thread logger([] {
      for (int i = 0; i < 20; ++i) {
        log::warn("replica slow to start", {{"i", std::to_string(i)}});
      }
    });
    for (int i = 0; i < 20; ++i) {
      progress({"replica.healthy", "replica healthy", {{"env", "dev"}, {"run", 7}}});
    }
    logger.join();
    display.stop();
  }
  log::warn("after the display stopped");  // back on standard error
  std::string text = content(out);
  std::fclose(out);

  int seen = 0;
  for (size_t at = text.find("WARN  replica slow to start"); at != std::string::npos;
       at = text.find("WARN  replica slow to start", at + 1)) {
    ++seen;
    // The line starts a line of the terminal: after a newline, or after the status line was
    // cleared (carriage return, erase line) and nothing else.
    size_t start = text.rfind('\n', at);
    std::string before = text.substr(start == std::string::npos ? 0 : start + 1,
                                     at - (start == std::string::npos ? 0 : start + 1));
    size_t cleared = before.rfind("\r\033[K");
    std::string rest = cleared == std::string::npos ? before : before.substr(cleared + 4);
    // The text format starts with the time of day: what comes before the level is that only.
    EXPECT_EQ(rest.find("run 7"), std::string::npos) << "a log line cut the status line";
    EXPECT_EQ(rest.size(), 13u) << "[" << rest << "]";
  }
  EXPECT_EQ(seen, 20) << text;
  EXPECT_EQ(text.find("after the display stopped"), std::string::npos);
}

TEST(RunDisplayTest, NotATerminalPrintsLogLinesPlain) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    RunDisplay display(out, /*tty=*/false);
    auto progress = display.progress();
    rolling(progress);
    log::info("a line of the log");
  }
  std::string text = content(out);
  std::fclose(out);
  EXPECT_EQ(text.find('\033'), std::string::npos) << text;
  EXPECT_NE(text.find("INFO  a line of the log\n"), std::string::npos) << text;
}

// How often `what` occurs in `text`.
int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

TEST(RunDisplayTest, AFailureIsShownOnceAsItHappens) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  const std::string reason = "body does not contain \"About Our Application\"";
  const std::string failure =
      "verification of release 2 of qa failed:\nverification of http://127.0.0.1:1/ failed:\n"
      "  smoke / about: " +
      reason;
  {
    // The events of a failed verification, as the pipeline and the rollout send them.
    RunDisplay display(out, /*tty=*/false);
    auto progress = display.progress();
    progress(
        {"check.failed",
         "FAIL smoke/about 3 ms: " + reason,
         {{"env", "qa"}, {"run", 2}, {"suite", "smoke"}, {"name", "about"}, {"reason", reason}}});
    progress({"rollout.failed", failure, {{"env", "qa"}, {"run", 2}}});
    progress({"rollout.rolled_back",
              "qa restored to its previous state; release 2 stopped",
              {{"env", "qa"}, {"run", 2}}});
    progress({"stage.failed",
              failure + "; rolled back",
              {{"env", "qa"}, {"run", 2}, {"stage", "verify"}, {"status", "failed"}}});
    progress({"run.rolled_back", "qa: " + failure + "; rolled back", {{"run", 2}}});
  }
  std::string text = content(out);
  std::fclose(out);
  EXPECT_EQ(count(text, reason), 1) << text;
  EXPECT_EQ(count(text, "verification of release 2 of qa failed:"), 1) << text;
  EXPECT_NE(text.find("[qa] verify failed; rolled back\n"), std::string::npos) << text;
  EXPECT_NE(text.find("qa restored to its previous state"), std::string::npos) << text;
}

TEST(RunDisplayTest, AFailureOfItsOwnIsShownWhole) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    RunDisplay display(out, /*tty=*/false);
    auto progress = display.progress();
    progress({"stage.failed", "libarchive failed: disk full", {{"run", 3}, {"stage", "build"}}});
    progress({"run.failed", "libarchive failed: disk full", {{"run", 3}}});
  }
  std::string text = content(out);
  std::fclose(out);
  EXPECT_EQ(count(text, "libarchive failed: disk full"), 1) << text;
}

}  // namespace
}  // namespace ztp::cli
