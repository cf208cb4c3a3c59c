#define BOOST_TEST_MODULE hellepoll_runtime
#include <boost/test/unit_test.hpp>
