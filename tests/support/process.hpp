// Process-level helpers shared by the suites: open descriptors, descriptor limits, CPU
// time of another process, whole files.
#pragma once

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace hellepoll::test {

// Entries in /proc/self/fd (including the directory stream's own).
inline int open_fd_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

// The "<field>:" line of /proc/PID/status (a thread id works too), whole; empty if absent.
inline std::string status_line(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return line;
  return {};
}

// A "<field>: <n> kB" line of /proc/PID/status (VmRSS, VmHWM...); -1 if absent.
inline long status_kib(pid_t pid, const std::string& field) {
  const std::string line = status_line(pid, field);
  return line.empty() ? -1 : std::stol(line.substr(field.size() + 1));
}

// Soft RLIMIT_NOFILE up to the hard limit (inherited by child processes).
inline void raise_fd_limit() {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

// The descriptors another process holds: how many, and the highest number (RLIMIT_NOFILE
// caps numbers, not the count).
struct Descriptors {
  int open = 0;
  int highest = -1;
};
inline Descriptors descriptors(pid_t pid) {
  Descriptors d;
  if (DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      ++d.open;
      d.highest = std::max(d.highest, std::stoi(e->d_name));
    }
    ::closedir(dir);
  }
  return d;
}

// utime + stime of `pid`, in seconds (fields 14 and 15 of /proc/PID/stat).
inline double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // after "(comm) "
  std::string field;
  for (int i = 3; i < 14; ++i) rest >> field;
  long utime = 0, stime = 0;
  rest >> utime >> stime;
  return double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
}

// A whole file's bytes ("" if it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace hellepoll::test
