// Makes the io_uring backend behave as on an older kernel (runtime/src/uring_backend.hpp)
// for one test, so that the fallbacks those kernels take run here too; the epoll backend
// has nothing to fall back from and must behave the same. The setting before (a whole
// suite's, from HELLEPOLL_TEST_URING_AS: see UringAsKernelFromEnv) comes back after.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "kernel_version.hpp"
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
  return !detail::uring_as_kernel.lacks(major, minor) && detail::kernel_at_least(major, minor);
}

// Each suite's global fixture (tests/{runtime,net,http}/main.cpp):
// HELLEPOLL_TEST_URING_AS=MAJOR.MINOR runs the suite's io_uring cases as on that kernel
// (tests/CMakeLists.txt adds such runs); a value that does not read so ends the run.
struct UringAsKernelFromEnv {
  UringAsKernelFromEnv() {
    const char* v = std::getenv("HELLEPOLL_TEST_URING_AS");
    if (!v || !*v) return;
    unsigned major = 0, minor = 0;
    char rest = 0;
    if (std::sscanf(v, "%u.%u%c", &major, &minor, &rest) != 2 || major == 0) {
      std::fprintf(stderr, "HELLEPOLL_TEST_URING_AS=%s: expected MAJOR.MINOR, such as 6.1\n", v);
      std::fflush(stderr);
      std::_Exit(2);  // before any case ran; no static destructors under the framework
    }
    detail::uring_as_kernel = {major, minor};
    std::fprintf(stderr, "io_uring cases run as on Linux %u.%u (HELLEPOLL_TEST_URING_AS)\n", major, minor);
  }
};

}  // namespace hellepoll::test
