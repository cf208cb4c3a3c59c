// io::close_detached: the descriptor is closed by the time the loop has run a turn, by the
// time the scheduler is gone even if it never ran one, and at once off a scheduler.
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <chrono>

#include "hellepoll/io.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "support/backends.hpp"
#include "support/fds.hpp"

namespace runtime_close_detached_tests {

using namespace hellepoll;
using namespace std::chrono_literals;
using test::is_open;

namespace {
int open_file() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
}  // namespace

BOOST_AUTO_TEST_SUITE(close_detached)

BOOST_DATA_TEST_CASE(the_fd_is_closed_after_a_turn_of_the_loop, test::backends, backend) {
  Scheduler s(backend);
  const int fd = open_file();
  BOOST_REQUIRE(fd >= 0);
  const bool open_after = s.block_on([](int f) -> Task<bool> {
    io::close_detached(f);
    co_await sleep_for(1ms);  // a turn: submissions go out
    co_return is_open(f);
  }(fd));
  BOOST_TEST(!open_after);
}

BOOST_DATA_TEST_CASE(the_fd_is_closed_when_the_scheduler_goes_without_a_turn, test::backends, backend) {
  int fd = -1;
  {
    Scheduler s(backend);  // current on this thread, and it never runs its loop
    fd = open_file();
    BOOST_REQUIRE(fd >= 0);
    io::close_detached(fd);
  }
  BOOST_TEST(!is_open(fd));
}

BOOST_AUTO_TEST_CASE(off_a_scheduler_the_fd_is_closed_at_once) {
  const int fd = open_file();
  BOOST_REQUIRE(fd >= 0);
  io::close_detached(fd);
  BOOST_TEST(!is_open(fd));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace runtime_close_detached_tests
