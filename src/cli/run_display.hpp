#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/workspace.hpp"
#include "engine/pipeline.hpp"
#include "engine/progress.hpp"

namespace ztp::cli {

// Shows a run as it happens, on standard error. Every event is a line with the elapsed time and
// its environment; in a terminal a status line below them keeps the current stage, the new
// release's healthy replicas, the weights, the check results and the elapsed time up to date
// (redrawn every second). Not a terminal: plain lines only. While it shows, the log's lines
// (util/log.hpp) are written through it too, so that none cuts the status line.
class RunDisplay {
 public:
  RunDisplay();
  // Writes to `out` (which must outlive it), drawing the status line when `tty`.
  RunDisplay(std::FILE* out, bool tty);
  ~RunDisplay();
  RunDisplay(const RunDisplay&) = delete;
  RunDisplay& operator=(const RunDisplay&) = delete;

  // The Progress that feeds this display (valid while it lives).
  engine::Progress progress();
  // A line of its own (lock waits, repairs).
  void note(const std::string& message);
  // Clears the status line for good; later output is plain.
  void stop();

 private:
  struct EnvView {
    std::string stage;
    std::string release;
    int starting = 0;
    int healthy = 0;
    std::string weights;
    int checks_passed = 0;
    int checks_failed = 0;
  };
  void on_event(const engine::ProgressEvent& e);
  void print_line(const std::string& env, const std::string& message, bool bad);
  void print_log_line(std::string_view line);
  // The line to show for failure event `e` (of `stage`, if any): a failure shown before is
  // not repeated (nullopt: nothing new to show).
  std::optional<std::string> failure_text(const engine::ProgressEvent& e, const std::string& stage);
  void draw_status_locked();
  void clear_status_locked();
  double elapsed() const;

  std::FILE* const m_out;
  const bool m_tty;
  const std::chrono::steady_clock::time_point m_start;
  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_stopped = false;
  bool m_status_shown = false;
  std::string m_env;  // the environment the run is in now
  std::string m_run;
  std::map<std::string, EnvView> m_envs;
  std::vector<std::string> m_failures;  // failure texts shown, as later events repeat them
  std::thread m_ticker;
};

// Prints a run's outcome: one line per environment with its status, revision and URL (a JSON
// object with --output json) on standard output.
void print_run_result(const engine::RunResult& result, bool json);

// The process exit code of a run's outcome (DESIGN.md's classes; 0 while it waits at a gate).
int run_exit_code(const engine::RunResult& result);

}  // namespace ztp::cli
