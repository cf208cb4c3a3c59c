#define BOOST_TEST_MODULE hellepoll_runtime
#include <boost/test/unit_test.hpp>

#include "support/uring_as_kernel.hpp"

// HELLEPOLL_TEST_URING_AS runs the suite's io_uring cases as on an older kernel.
using hellepoll::test::UringAsKernelFromEnv;
BOOST_TEST_GLOBAL_FIXTURE(UringAsKernelFromEnv);
