// The io_uring backend set up as on older kernels (tests/support/uring_as_kernel.hpp):
// each feature is gone exactly from the kernels that lack it, which is what lets whole
// suites run as on those kernels (HELLEPOLL_TEST_URING_AS, tests/CMakeLists.txt). The
// epoll backend has no such features and describes itself the same whatever the setting.
#include <boost/test/unit_test.hpp>
#include <string>
#include <system_error>

#include "hellepoll/backend.hpp"
#include "support/backends.hpp"
#include "support/uring_as_kernel.hpp"

using namespace hellepoll;

namespace {

bool has(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

std::string described_as(BackendKind kind, unsigned major, unsigned minor) {
  const test::UringAsKernelFor as(major, minor);
  return make_backend(kind)->describe();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(uring_as_kernel)

BOOST_DATA_TEST_CASE(each_feature_is_gone_on_the_kernels_before_it, test::backends, backend) {
  const std::string now = described_as(backend, 0, 0);  // this kernel as it is, whatever the suite runs as
  const std::string k5_19 = described_as(backend, 5, 19);
  const std::string k6_1 = described_as(backend, 6, 1);
  const std::string k6_12 = described_as(backend, 6, 12);
  const std::string k6_13 = described_as(backend, 6, 13);
  BOOST_TEST_MESSAGE(to_string(backend) << " now: " << now << "\n  as 5.19: " << k5_19 << "\n  as 6.1: " << k6_1
                                        << "\n  as 6.12: " << k6_12 << "\n  as 6.13: " << k6_13);
  if (backend == BackendKind::epoll) {
    BOOST_TEST(k5_19 == now);
    BOOST_TEST(k6_1 == now);
    return;
  }
  // This machine's kernel (6.18 here) has them all; the tests need it to.
  BOOST_TEST(has(now, "DEFER_TASKRUN"), now);
  BOOST_TEST(has(now, "batched waits"), now);
  BOOST_TEST(has(now, "file table"), now);

  BOOST_TEST(has(k5_19, "COOP_TASKRUN"), k5_19);  // the flag ladder's second rung
  BOOST_TEST(!has(k5_19, "DEFER_TASKRUN"), k5_19);
  BOOST_TEST(!has(k5_19, "batched waits"), k5_19);
  BOOST_TEST(!has(k5_19, "file table"), k5_19);

  BOOST_TEST(has(k6_1, "DEFER_TASKRUN"), k6_1);
  BOOST_TEST(!has(k6_1, "batched waits"), k6_1);
  BOOST_TEST(!has(k6_1, "file table"), k6_1);

  BOOST_TEST(has(k6_12, "batched waits"), k6_12);
  BOOST_TEST(!has(k6_12, "file table"), k6_12);

  BOOST_TEST(has(k6_13, "file table"), k6_13);
}

// Before 5.19 there is no io_uring for us at all (backend_select_tests.cpp has the rest).
BOOST_DATA_TEST_CASE(before_5_19_io_uring_is_refused, test::backends, backend) {
  const test::UringAsKernelFor as(5, 18);
  if (backend == BackendKind::epoll) {
    BOOST_TEST(make_backend(backend)->kind() == BackendKind::epoll);
    return;
  }
  BOOST_CHECK_THROW(make_backend(backend), std::system_error);
}

BOOST_AUTO_TEST_SUITE_END()
