#include "util/log.hpp"

#include <fmt/chrono.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace ztp::log {
namespace {

std::atomic<Format> g_format{Format::text};
std::atomic<Level> g_level{Level::info};
thread_local std::vector<Field> t_scope;

// The writer of set_writer and the lock that serialises every line written.
std::mutex g_writer_mu;
LineWriter g_writer;

std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l =
        std::make_shared<spdlog::logger>("ztp", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    return l;
  }();
  return instance;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  // util sits below sys/time, so fmt's chrono formatting writes it here.
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms.count());
}

bool needs_quotes(std::string_view v) {
  return v.empty() || v.find_first_of(" \t\"=") != std::string_view::npos;
}

}  // namespace

void set_writer(LineWriter writer) {
  std::lock_guard lock(g_writer_mu);
  g_writer = std::move(writer);
}

void init(Format format, Level level) {
  g_format = format;
  g_level = level;
}

bool parse_format(std::string_view text, Format& out) {
  if (text == "text") {
    out = Format::text;
    return true;
  }
  if (text == "json") {
    out = Format::json;
    return true;
  }
  return false;
}

std::string format_line(Format format, Level level, std::string_view message,
                        const std::vector<Field>& fields) {
  if (format == Format::json) {
    nlohmann::json j;
    j["ts"] = timestamp();
    j["level"] = level_name(level);
    j["msg"] = message;
    for (const auto& f : fields) {
      j[f.key] = f.value;
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line = timestamp().substr(11, 12);
  line += ' ';
  std::string lvl(level_name(level));
  for (auto& c : lvl) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  line += lvl;
  line.append(6 - lvl.size(), ' ');
  line += message;
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    if (needs_quotes(f.value)) {
      line += nlohmann::json(f.value).dump();
    } else {
      line += f.value;
    }
  }
  return line;
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (level < g_level.load()) {
    return;
  }
  std::vector<Field> all = t_scope;
  all.insert(all.end(), fields.begin(), fields.end());
  std::string line = format_line(g_format.load(), level, message, all);
  std::lock_guard lock(g_writer_mu);
  if (g_writer) {
    g_writer(line);
    return;
  }
  logger()->info(line);
}

Scope::Scope(std::initializer_list<Field> fields) : m_count(fields.size()) {
  t_scope.insert(t_scope.end(), fields.begin(), fields.end());
}

Scope::~Scope() { t_scope.resize(t_scope.size() - m_count); }

}  // namespace ztp::log
