// Process-level helpers shared by the suites: open descriptors, descriptor limits.
#pragma once

#include <dirent.h>
#include <sys/resource.h>

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

// Soft RLIMIT_NOFILE up to the hard limit (inherited by child processes).
inline void raise_fd_limit() {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace hellepoll::test
