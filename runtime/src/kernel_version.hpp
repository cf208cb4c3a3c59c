// The running kernel's version, for the few io_uring behaviours no probe can tell apart
// (uring_fixed_files.cpp) and for tests that expect a feature exactly where the kernel
// has it (tests/support/uring_as_kernel.hpp).
#pragma once

#include <sys/utsname.h>

#include <cstdio>

namespace hellepoll::detail {

// Whether the running kernel is Linux major.minor or later; false if uname cannot say.
inline bool kernel_at_least(unsigned major, unsigned minor) noexcept {
  utsname u{};
  unsigned have_major = 0, have_minor = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%u.%u", &have_major, &have_minor) != 2) return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

}  // namespace hellepoll::detail
