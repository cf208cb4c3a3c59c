#define BOOST_TEST_MODULE hellepoll_http
#include <boost/test/unit_test.hpp>
