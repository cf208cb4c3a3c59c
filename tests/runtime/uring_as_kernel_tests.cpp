// The io_uring backend set up as on older kernels (tests/support/uring_as_kernel.hpp):
// each feature is there exactly when the running kernel has it and the setting does not
// take it away, which is what lets whole suites run as on those kernels
// (HELLEPOLL_TEST_URING_AS, tests/CMakeLists.txt). The epoll backend has no such features
// and must describe itself the same whatever the setting.
#include <boost/test/unit_test.hpp>
#include <string>

#include "hellepoll/backend.hpp"
#include "support/backends.hpp"
#include "support/uring_as_kernel.hpp"

namespace runtime_uring_as_kernel_tests {

using namespace hellepoll;

namespace {

bool has(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

// Whether a backend set up as on `as` should have a feature of Linux `since`.
bool expected(detail::UringAsKernel as, unsigned since_major, unsigned since_minor) {
  return !as.lacks(since_major, since_minor) && detail::kernel_at_least(since_major, since_minor);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(uring_as_kernel)

BOOST_DATA_TEST_CASE(each_feature_is_there_exactly_on_the_kernels_that_have_it, test::backends, backend) {
  // {0, 0}: this kernel as it is, whatever the suite runs as.
  const detail::UringAsKernel kernels[] = {{0, 0}, {5, 19}, {6, 0}, {6, 1}, {6, 12}, {6, 13}, {6, 16}, {6, 17}};
  std::string as_is;
  for (const detail::UringAsKernel as : kernels) {
    const test::UringAsKernelFor setting(as.major, as.minor);
    const std::string d = make_backend(backend)->describe();
    BOOST_TEST_CONTEXT(to_string(backend) << " as " << as.major << "." << as.minor << ": " << d) {
      if (as.major == 0) as_is = d;
      if (backend == BackendKind::epoll) {
        BOOST_TEST(d == as_is);
        continue;
      }
      BOOST_TEST(has(d, "DEFER_TASKRUN") == expected(as, 6, 1));
      BOOST_TEST(has(d, "COOP_TASKRUN") == !expected(as, 6, 1));
      // Probed at set-up: said from the start, not after the first refusal.
      BOOST_TEST(has(d, "multishot recv") == expected(as, 6, 0));
      BOOST_TEST(has(d, "(no byte limit)") == (expected(as, 6, 0) && !expected(as, 6, 17)));
      BOOST_TEST(has(d, "batched waits") == expected(as, 6, 12));
      BOOST_TEST(has(d, "file table") == expected(as, 6, 13));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace runtime_uring_as_kernel_tests
