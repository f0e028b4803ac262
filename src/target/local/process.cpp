#include "target/local/process.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <vector>

#include "util/fs.hpp"

namespace ztp::target::local {
namespace {

template <typename T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

Result<ProcStat> parse_proc_stat(std::string_view text) {
  // "pid (comm) state ppid pgrp ...": comm may contain anything, so split after the last ')'.
  size_t close = text.rfind(')');
  if (close == std::string_view::npos) {
    return make_error(Errc::invalid, "malformed /proc stat: no command name");
  }
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  size_t pos = close + 1;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n')) {
      ++pos;
    }
    size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n') {
      ++end;
    }
    if (end > pos) {
      fields.push_back(text.substr(pos, end - pos));
    }
    pos = end;
  }
  // Field n of proc(5) is fields[n - 3].
  if (fields.size() < 20 || fields[0].size() != 1) {
    return make_error(Errc::invalid, "malformed /proc stat: too few fields");
  }
  ProcStat stat;
  stat.state = fields[0][0];
  if (!parse_number(fields[2], stat.pgrp) || !parse_number(fields[19], stat.start_time)) {
    return make_error(Errc::invalid, "malformed /proc stat: bad pgrp or start time");
  }
  return stat;
}

Result<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) {
    return make_error(Errc::not_found, fmt::format("no process {}", pid));
  }
  auto text = fs::read_file(fmt::format("/proc/{}/stat", pid));
  if (!text) {
    // A process that exits while we read is just gone.
    return make_error(Errc::not_found, fmt::format("no process {}", pid));
  }
  return parse_proc_stat(*text);
}

Result<uint64_t> process_start_time(pid_t pid) {
  auto stat = read_proc_stat(pid);
  if (!stat) {
    return stat.take_error();
  }
  return stat->start_time;
}

bool signal_group_if_same(pid_t pid, uint64_t start_time, int sig) {
  auto stat = read_proc_stat(pid);
  if (!stat || stat->start_time != start_time || stat->state == 'Z' || stat->state == 'X') {
    return false;
  }
  return ::kill(-stat->pgrp, sig) == 0 || ::kill(pid, sig) == 0;
}

void close_fds_except(std::initializer_list<int> keep) {
  std::vector<int> sorted(keep);
  sorted.push_back(2);
  std::sort(sorted.begin(), sorted.end());
  // Close the gaps between the kept descriptors.
  for (size_t i = 0; i < sorted.size(); ++i) {
    unsigned first = static_cast<unsigned>(sorted[i]) + 1;
    unsigned last = i + 1 < sorted.size() ? static_cast<unsigned>(sorted[i + 1]) - 1 : ~0U;
    if (first <= last && sorted[i] >= 2) {
      ::close_range(first, last, 0);
    }
  }
}

std::string format_time(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  auto secs = std::chrono::floor<std::chrono::seconds>(ms);
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ms - secs).count());
}

Result<std::chrono::system_clock::time_point> parse_time(std::string_view text) {
  std::tm tm{};
  int consumed = 0;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return make_error(Errc::invalid, fmt::format("'{}' is not an RFC 3339 UTC time", text));
  }
  std::string_view rest = text.substr(static_cast<size_t>(consumed));
  int millis = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      ++digits;
    }
    std::string frac(rest.substr(1, digits - 1));
    frac.resize(3, '0');
    millis = std::stoi(frac.substr(0, 3));
    rest = rest.substr(digits);
  }
  if (rest != "Z") {
    return make_error(Errc::invalid, fmt::format("'{}' is not an RFC 3339 UTC time", text));
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t tt = timegm(&tm);
  return std::chrono::system_clock::time_point(std::chrono::seconds(tt)) +
         std::chrono::milliseconds(millis);
}

}  // namespace ztp::target::local
