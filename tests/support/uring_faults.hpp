// Sets the io_uring backend's fault hooks (runtime/src/uring_backend.hpp) for one test, so
// that the fallbacks older kernels take run here too; the epoll backend has none to set
// and must behave the same.
#pragma once

#include "uring_backend.hpp"

namespace hellepoll::test {

struct UringFaultsFor {
  explicit UringFaultsFor(detail::UringFaults f) { detail::uring_faults = f; }
  ~UringFaultsFor() { detail::uring_faults = {}; }
  UringFaultsFor(const UringFaultsFor&) = delete;
  UringFaultsFor& operator=(const UringFaultsFor&) = delete;
};

}  // namespace hellepoll::test
