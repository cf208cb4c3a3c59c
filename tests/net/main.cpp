#define BOOST_TEST_MODULE hellepoll_net
#include <boost/test/unit_test.hpp>
