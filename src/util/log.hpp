#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace ztp::log {

enum class Format { text, json };
enum class Level { debug, info, warn, error };

// One structured field of a log line.
struct Field {
  std::string key;
  std::string value;
};

// Sets the format (`text`: readable in a terminal; `json`: one JSON object per line) and the
// lowest level written. Lines go to standard error. Safe to call again.
void init(Format format, Level level);
// Parses "text" | "json"; false when neither.
bool parse_format(std::string_view text, Format& out);

// Receives every line written (without its newline) instead of standard error while set, one
// call at a time: a live display gives lines between its own, so none cuts another. An empty
// writer puts standard error back; set_writer returns once no call to the old writer runs.
// The writer must not log.
using LineWriter = std::function<void(std::string_view line)>;
void set_writer(LineWriter writer);

// Writes one line with the message and fields, plus the fields of every live Scope on this
// thread (run id, environment, release).
void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  write(Level::error, m, f);
}

// Adds fields to every line this thread writes while the scope lives.
class Scope {
 public:
  explicit Scope(std::initializer_list<Field> fields);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  size_t m_count;
};

// Formats one line as `init` would, without writing it (used by tests and by sinks that
// store lines).
std::string format_line(Format format, Level level, std::string_view message,
                        const std::vector<Field>& fields);

}  // namespace ztp::log
