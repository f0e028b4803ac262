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
  ProcStat stat;
  ZTP_ASSIGN_OR_RETURN(stat, read_proc_stat(pid));
  return stat.start_time;
}

bool signal_group_if_same(pid_t pid, uint64_t start_time, int sig) {
  auto stat = read_proc_stat(pid);
  if (!stat || stat->start_time != start_time || stat->state == 'Z' || stat->state == 'X') {
    return false;
  }
  return ::kill(-stat->pgrp, sig) == 0 || ::kill(pid, sig) == 0;
}

}  // namespace ztp::target::local
