// Makes the io_uring backend behave as on an older kernel (runtime/src/uring_backend.hpp)
// for one test, so that the fallbacks those kernels take run here too; the epoll backend
// has nothing to fall back from and must behave the same. The setting before (a whole
// suite's, from HELLEPOLL_TEST_URING_AS: see uring_as_kernel_from_env) comes back after.
#pragma once

#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>

#include "uring_backend.hpp"

namespace hellepoll::test {

struct UringAsKernelFor {
  UringAsKernelFor(unsigned major, unsigned minor) : before_(detail::uring_as_kernel) {
    detail::uring_as_kernel = {major, minor};
  }
  ~UringAsKernelFor() { detail::uring_as_kernel = before_; }
  UringAsKernelFor(const UringAsKernelFor&) = delete;
  UringAsKernelFor& operator=(const UringAsKernelFor&) = delete;

 private:
  detail::UringAsKernel before_;
};

// Whether io_uring cases run with a feature that came with Linux `major`.`minor`: this
// kernel has it, and the cases do not run as on a kernel before it. Judged from uname and
// the setting, not from what the backend says of itself (a detection that broke would
// say no, and the case would not notice).
inline bool uring_has(unsigned major, unsigned minor) {
  if (detail::uring_as_kernel.lacks(major, minor)) return false;
  utsname u{};
  unsigned have_major = 0, have_minor = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%u.%u", &have_major, &have_minor) != 2) return false;
  return have_major > major || (have_major == major && have_minor >= minor);
}

// HELLEPOLL_TEST_URING_AS=MAJOR.MINOR runs a whole suite's io_uring cases as on that kernel
// (tests/CMakeLists.txt adds such runs); a value that does not read so fails the run.
inline void uring_as_kernel_from_env() {
  const char* v = std::getenv("HELLEPOLL_TEST_URING_AS");
  if (!v || !*v) return;
  unsigned major = 0, minor = 0;
  char rest = 0;
  if (std::sscanf(v, "%u.%u%c", &major, &minor, &rest) != 2 || major == 0) {
    std::fprintf(stderr, "HELLEPOLL_TEST_URING_AS=%s: expected MAJOR.MINOR, such as 6.1\n", v);
    std::exit(2);
  }
  detail::uring_as_kernel = {major, minor};
  std::fprintf(stderr, "io_uring cases run as on Linux %u.%u (HELLEPOLL_TEST_URING_AS)\n", major, minor);
}

}  // namespace hellepoll::test
