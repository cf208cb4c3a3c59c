// A listener on 127.0.0.1 with a port the kernel picks; the test fails if it cannot bind.
#pragma once

#include <boost/test/unit_test.hpp>
#include <utility>

#include "hellepoll/net/listener.hpp"

namespace hellepoll::test {
inline Listener listen_loopback() {
  auto l = Listener::bind(SocketAddress::loopback_v4(0));
  BOOST_REQUIRE_MESSAGE(l, l.error().message());
  return std::move(*l);
}
}  // namespace hellepoll::test
