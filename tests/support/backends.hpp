// Every runtime, net and http case runs once per backend:
//   BOOST_DATA_TEST_CASE(name, hellepoll::test::backends, backend) { Scheduler s(backend); ... }
// io_uring cases fail (never skip) when io_uring is unavailable: a backend we claim to
// support must be tested. A suite run as on an older kernel (HELLEPOLL_TEST_URING_AS:
// tests/support/uring_as_kernel.hpp) runs the io_uring half of these cases, since the epoll
// half would repeat the normal run (its cases that use no backend, quick ones such as the
// parser's, run again as they are).
#pragma once

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <cstdlib>
#include <ostream>
#include <vector>

#include "hellepoll/backend.hpp"

namespace hellepoll {
inline std::ostream& operator<<(std::ostream& os, BackendKind k) { return os << to_string(k); }
}  // namespace hellepoll

namespace hellepoll::test {
inline std::vector<BackendKind> backends_under_test() {
  const char* as = std::getenv("HELLEPOLL_TEST_URING_AS");
  if (as && *as) return {BackendKind::uring};
  return {BackendKind::uring, BackendKind::epoll};
}
inline const auto backends = boost::unit_test::data::make(backends_under_test());
}  // namespace hellepoll::test
