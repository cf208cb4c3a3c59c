// The ThreadSanitizer stage's test executable (tests/CMakeLists.txt): the suites' cases
// that run more than one thread, compiled together.
#define BOOST_TEST_MODULE hellepoll_tsan
#include <boost/test/unit_test.hpp>
