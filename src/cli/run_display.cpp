#include "cli/run_display.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/workspace.hpp"
#include "util/log.hpp"

namespace ztp::cli {
namespace {

bool is_bad(const std::string& kind) {
  return kind.find("failed") != std::string::npos ||
         kind.find("rolled_back") != std::string::npos ||
         kind.find("interrupted") != std::string::npos || kind == "run.cancelled";
}

std::string weights_text(const nlohmann::json& weights) {
  std::string out;
  for (const auto& [release, weight] : weights.items()) {
    out += fmt::format("{}r{}:{}%", out.empty() ? "" : " ", release, weight.dump());
  }
  return out;
}

}  // namespace

RunDisplay::RunDisplay() : RunDisplay(stderr, ::isatty(STDERR_FILENO) != 0) {}

RunDisplay::RunDisplay(std::FILE* out, bool tty)
    : m_out(out), m_tty(tty), m_start(std::chrono::steady_clock::now()) {
  log::set_writer([this](std::string_view line) { print_log_line(line); });
  if (m_tty) {
    m_ticker = std::thread([this] {
      std::unique_lock lock(m_mu);
      while (!m_stopped) {
        m_cv.wait_for(lock, std::chrono::seconds(1));
        if (!m_stopped && !m_env.empty()) {
          draw_status_locked();
        }
      }
    });
  }
}

RunDisplay::~RunDisplay() { stop(); }

void RunDisplay::stop() {
  log::set_writer({});  // first: a log line being written may still take m_mu
  {
    std::lock_guard lock(m_mu);
    if (m_stopped) {
      return;
    }
    m_stopped = true;
    clear_status_locked();
  }
  m_cv.notify_all();
  if (m_ticker.joinable()) {
    m_ticker.join();
  }
}

double RunDisplay::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
}

engine::Progress RunDisplay::progress() {
  return [this](const engine::ProgressEvent& e) { on_event(e); };
}

void RunDisplay::note(const std::string& message) { print_line("", message, false); }

void RunDisplay::clear_status_locked() {
  if (m_status_shown) {
    fmt::print(m_out, "\r\033[K");
    m_status_shown = false;
  }
}

void RunDisplay::draw_status_locked() {
  auto it = m_envs.find(m_env);
  if (it == m_envs.end()) {
    return;
  }
  const auto& v = it->second;
  std::string text = fmt::format("{} {} {}", m_run, m_env, v.stage);
  if (!v.release.empty()) {
    text +=
        fmt::format(" · r{} {}/{} healthy", v.release, v.healthy, std::max(v.starting, v.healthy));
  }
  if (!v.weights.empty()) {
    text += " · " + v.weights;
  }
  if (v.checks_passed + v.checks_failed > 0) {
    text += fmt::format(" · checks {} ok {} failed", v.checks_passed, v.checks_failed);
  }
  text += fmt::format(" · {:.0f}s", elapsed());
  fmt::print(m_out, "\r\033[K\033[1m{}\033[0m", text);
  std::fflush(m_out);
  m_status_shown = true;
}

void RunDisplay::print_line(const std::string& env, const std::string& message, bool bad) {
  std::lock_guard lock(m_mu);
  std::string where = env.empty() ? "" : fmt::format("[{}] ", env);
  if (m_tty) {
    clear_status_locked();
    fmt::print(m_out, "\033[2m{:>7.1f}s\033[0m {}{}{}{}\n", elapsed(), where, bad ? "\033[31m" : "",
               message, bad ? "\033[0m" : "");
    if (!m_stopped && !m_env.empty()) {
      draw_status_locked();
    }
  } else {
    fmt::print(m_out, "{:>7.1f}s {}{}\n", elapsed(), where, message);
  }
}

void RunDisplay::print_log_line(std::string_view line) {
  std::lock_guard lock(m_mu);
  if (m_tty) {
    clear_status_locked();
  }
  fmt::print(m_out, "{}\n", line);
  if (m_tty && !m_stopped && !m_env.empty()) {
    draw_status_locked();
  }
  std::fflush(m_out);
}

void RunDisplay::on_event(const engine::ProgressEvent& e) {
  std::string env = e.data.is_object() ? e.data.value("env", std::string()) : std::string();
  {
    std::lock_guard lock(m_mu);
    if (e.data.is_object() && e.data.contains("run")) {
      m_run = fmt::format("run {}", e.data["run"].dump());
    }
    if (!env.empty()) {
      m_env = env;
      auto& v = m_envs[env];
      if (e.kind == "stage.started") {
        v.stage = e.data.value("stage", std::string());
      } else if (e.kind == "rollout.started") {
        v.release = e.data.value("release", std::string());
        v.starting = v.healthy = 0;
      } else if (e.kind == "replica.starting") {
        v.starting += e.data.value("count", 0);
      } else if (e.kind == "replica.healthy") {
        ++v.healthy;
      } else if (e.kind == "weights" && e.data.contains("weights")) {
        v.weights = weights_text(e.data["weights"]);
      } else if (e.kind == "check.passed") {
        ++v.checks_passed;
      } else if (e.kind == "check.failed") {
        ++v.checks_failed;
      }
    }
  }
  // The strategy's own lines say when a rollout ends and verification begins.
  std::string stage = e.data.is_object() ? e.data.value("stage", std::string()) : std::string();
  if ((e.kind == "stage.succeeded" && stage == "rollout") ||
      (e.kind == "stage.started" && stage == "verify")) {
    return;
  }
  if (!is_bad(e.kind)) {
    print_line(env, e.message, false);
    return;
  }
  auto text = failure_text(e, stage);
  if (text) {
    print_line(env, *text, true);
  }
}

std::optional<std::string> RunDisplay::failure_text(const engine::ProgressEvent& e,
                                                    const std::string& stage) {
  std::lock_guard lock(m_mu);
  if (e.kind == "check.failed") {
    // As the verification's failure lists it later ("suite / check: reason").
    if (e.data.is_object()) {
      m_failures.push_back(fmt::format("{} / {}: {}", e.data.value("suite", std::string()),
                                       e.data.value("name", std::string()),
                                       e.data.value("reason", std::string())));
    }
    return e.message;
  }
  // Later events carry the failure again (the stage that failed, the run's end): each says
  // only what it adds. The longest texts first, so a failure is taken out whole.
  std::string rest = e.message;
  bool repeated = false;
  std::vector<std::string> shown = m_failures;
  std::sort(shown.begin(), shown.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& f : shown) {
    for (auto at = rest.find(f); !f.empty() && at != std::string::npos; at = rest.find(f)) {
      rest.erase(at, f.size());
      repeated = true;
    }
  }
  m_failures.push_back(e.message);
  if (!repeated) {
    return e.message;
  }
  // What is left, without the lines the failures left empty.
  std::string left;
  for (size_t at = 0; at <= rest.size();) {
    size_t end = std::min(rest.find('\n', at), rest.size());
    std::string line = rest.substr(at, end - at);
    if (line.find_first_not_of(" :;") != std::string::npos) {
      left += (left.empty() ? "" : "\n") + line;
    }
    at = end + 1;
  }
  if (e.kind.rfind("run.", 0) == 0) {
    return std::nullopt;  // the run's outcome follows, with its reason
  }
  if (e.kind == "stage.failed") {
    auto trimmed = left.substr(std::min(left.find_first_not_of(" :"), left.size()));
    return fmt::format("{} failed{}{}", stage.empty() ? "stage" : stage,
                       trimmed.empty() || trimmed[0] == ';' ? "" : ": ", trimmed);
  }
  return left.empty() ? std::nullopt : std::optional<std::string>(left);
}

void print_run_result(const engine::RunResult& result, bool json) {
  const auto& run = result.run;
  if (json) {
    nlohmann::json envs = nlohmann::json::array();
    for (const auto& e : result.envs) {
      envs.push_back({{"env", e.env},
                      {"status", e.status},
                      {"revision", e.revision},
                      {"url", e.url},
                      {"detail", e.detail}});
    }
    nlohmann::json j{{"run", run.id},
                     {"commit", run.commit_sha},
                     {"short_sha", run.short_sha},
                     {"digest", run.digest},
                     {"status", store::to_string(run.status)},
                     {"reason", run.reason},
                     {"environments", envs}};
    if (result.error) {
      j["error"] = {{"code", errc_name(result.error->code)}, {"message", result.error->message}};
    }
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("run {} {} {}{}\n", run.id, run.short_sha, store::to_string(run.status),
             run.reason.empty() ? "" : ": " + run.reason);
  for (const auto& e : result.envs) {
    std::string rev = e.revision > 0 ? fmt::format("revision {}", e.revision) : "";
    fmt::print("  {:<8} {:<17} {:<12} {}\n", e.env, e.status, rev, e.url);
  }
}

int run_exit_code(const engine::RunResult& result) {
  if (result.error) {
    return exit_code(result.error->code);
  }
  switch (result.run.status) {
    case store::RunStatus::succeeded:
    case store::RunStatus::awaiting_approval:
    case store::RunStatus::running:
    case store::RunStatus::queued:
      return 0;
    case store::RunStatus::rolled_back:
      return exit_code(Errc::rolled_back);
    case store::RunStatus::cancelled:
      return exit_code(Errc::refused);
    case store::RunStatus::failed:
      return exit_code(Errc::internal);
  }
  return 1;
}

}  // namespace ztp::cli
