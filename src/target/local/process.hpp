#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "util/result.hpp"

// Small Linux process helpers shared by the supervisor and the local target.
namespace ztp::target::local {

// The fields of /proc/PID/stat the supervisor needs.
struct ProcStat {
  char state = '?';         // R, S, D, Z (zombie), X (dead), ...
  pid_t pgrp = 0;           // process group
  uint64_t start_time = 0;  // field 22: clock ticks after boot; with the pid, names a process
};

// Parses the content of a /proc/PID/stat file (the command name may hold spaces and ')').
// invalid when the text is not in that format.
Result<ProcStat> parse_proc_stat(std::string_view text);

// Reads /proc/PID/stat. not_found when there is no such process.
Result<ProcStat> read_proc_stat(pid_t pid);

// The start time of `pid` (field 22 of /proc/PID/stat); not_found when it does not exist.
Result<uint64_t> process_start_time(pid_t pid);

// Sends `sig` to the process group `pgid`, only while the group leader `pid` is still the
// process started at `start_time`, so a recycled pid is never signalled. False when it is gone.
bool signal_group_if_same(pid_t pid, uint64_t start_time, int sig);

}  // namespace ztp::target::local
