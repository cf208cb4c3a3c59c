// Every runtime, net and http case runs once per backend:
//   BOOST_DATA_TEST_CASE(name, hellepoll::test::backends, backend) { Scheduler s(backend); ... }
// io_uring cases fail (never skip) when io_uring is unavailable: a backend we claim to
// support must be tested.
#pragma once

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <ostream>

#include "hellepoll/backend.hpp"

namespace hellepoll {
inline std::ostream& operator<<(std::ostream& os, BackendKind k) { return os << to_string(k); }
}  // namespace hellepoll

namespace hellepoll::test {
inline const auto backends = boost::unit_test::data::make({BackendKind::uring, BackendKind::epoll});
}  // namespace hellepoll::test
