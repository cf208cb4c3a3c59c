#define BOOST_TEST_MODULE hellepoll_runtime
#include <boost/test/unit_test.hpp>

#include "support/uring_as_kernel.hpp"

// HELLEPOLL_TEST_URING_AS runs the suite's io_uring cases as on an older kernel.
struct UringAsKernelFromEnv {
  UringAsKernelFromEnv() { hellepoll::test::uring_as_kernel_from_env(); }
};
BOOST_TEST_GLOBAL_FIXTURE(UringAsKernelFromEnv);
