#include <boost/test/unit_test.hpp>

#include "hellepoll/net/address.hpp"

namespace net_address_tests {

using hellepoll::SocketAddress;

BOOST_AUTO_TEST_SUITE(address)

BOOST_AUTO_TEST_CASE(ipv4_and_ipv6_parse_and_print) {
  auto a = SocketAddress::parse("127.0.0.1:80");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->family() == AF_INET);
  BOOST_TEST(a->port() == 80);
  BOOST_TEST(a->to_string() == "127.0.0.1:80");
  auto b = SocketAddress::parse("[::1]:8080");
  BOOST_REQUIRE(b);
  BOOST_TEST(b->family() == AF_INET6);
  BOOST_TEST(b->host() == "::1");
  BOOST_TEST(b->to_string() == "[::1]:8080");
  auto c = SocketAddress::parse("::1", 9);
  BOOST_REQUIRE(c);
  BOOST_TEST(c->to_string() == "[::1]:9");
  BOOST_TEST((*SocketAddress::parse("10.1.2.3:4") == SocketAddress::parse("10.1.2.3", 4).value()));
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_rejected) {
  for (const char* bad : {"1.2.3.4", "::1:80", "[::1]", "1.2.3.4:99999", "host:80", "1.2.3.4:", ":80",
                          "[::1]80", "1.2.3.4:8a", "", "256.0.0.1:80", "[::g]:80"})
    BOOST_TEST(!SocketAddress::parse(bad), "accepted: " << bad);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace net_address_tests
