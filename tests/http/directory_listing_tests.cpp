// listing_page (http/src/directory_listing.hpp): the static handler's directory listing,
// read through its own open of the directory, and built in slices so that a big
// directory does not hold up the thread's other connections.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/when_all.hpp"
#include "directory_listing.hpp"
#include "support/backends.hpp"
#include "support/temp_dir.hpp"

namespace http_directory_listing_tests {

using namespace hellepoll;
using namespace hellepoll::http;

namespace {

// A temporary directory with `files` empty files and an fd open on it, as roots are.
struct Dir : test::TempDir {
  int fd;
  explicit Dir(int files) {
    for (int i = 0; i < files; ++i) std::ofstream(path / ("f" + std::to_string(i) + ".txt"));
    fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  ~Dir() { ::close(fd); }
};

// Counts the turns it gets until `done`: the thread's other work while a listing runs.
Task<void> count_turns(const bool& done, int& turns) {
  while (!done) {
    ++turns;
    co_await yield();
  }
}

Task<ListingPage> list_beside_a_counter(int fd, std::size_t slice, int& turns) {
  bool done = false;
  spawn(count_turns(done, turns));
  co_await yield();  // the counter's first turn
  turns = 0;         // count only those taken while the listing runs
  ListingPage page = co_await listing_page(fd, "/d/", slice);
  done = true;
  co_await yield();  // let the counter see it and end
  co_return page;
}

// The names a page links to, in the page's order ("../" left out).
std::vector<std::string> hrefs(const std::string& html) {
  std::vector<std::string> out;
  const std::string open = "<a href=\"";
  for (std::size_t at = 0; (at = html.find(open, at)) != std::string::npos;) {
    at += open.size();
    std::string name = html.substr(at, html.find('"', at) - at);
    if (name != "../") out.push_back(std::move(name));
  }
  return out;
}

// f0.txt ... f<n-1>.txt as std::string orders them (f0, f1, f10, f100, ...).
std::vector<std::string> sorted_names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("f" + std::to_string(i) + ".txt");
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(directory_listing)

// Requests listing a directory may share its fd: each listing reads through its own open,
// or the second would start where the first left the shared read position (at the end).
BOOST_DATA_TEST_CASE(listings_through_one_shared_fd_each_list_every_entry, test::backends, backend) {
  Dir dir(2);
  const int fd = ::openat(dir.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  BOOST_REQUIRE_GE(fd, 0);
  Scheduler s(backend);
  for (int i = 0; i < 2; ++i) {
    const ListingPage page = s.block_on(listing_page(fd, "/d/"));
    BOOST_TEST(page.error == 0);
    BOOST_TEST(page.html.find("<a href=\"f0.txt\">f0.txt</a>") != std::string::npos, page.html);
    BOOST_TEST(page.html.find("<a href=\"f1.txt\">f1.txt</a>") != std::string::npos, page.html);
  }
  ::close(fd);
}

// The listing's own open can fail where the directory's did not (the process ran out of
// descriptors in between): that is the error to answer with (503), not an empty listing.
BOOST_DATA_TEST_CASE(a_listing_that_cannot_open_its_directory_says_why, test::backends, backend) {
  Dir dir(1);
  const int fd = ::openat(dir.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  BOOST_REQUIRE_GE(fd, 0);
  Scheduler s(backend);  // its own descriptors first: the limit below leaves none free
  const int next_free = ::dup(fd);  // the number the next open would take
  BOOST_REQUIRE_GE(next_free, 0);
  ::close(next_free);
  rlimit old{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
  rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(next_free);  // no descriptor free below it
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
  const ListingPage page = s.block_on(listing_page(fd, "/d/"));
  ::setrlimit(RLIMIT_NOFILE, &old);
  BOOST_TEST(page.error == -EMFILE);
  BOOST_TEST(page.html.empty(), page.html);
  ::close(fd);
}

// A big directory is listed in slices, with the thread's other coroutines run between
// them: 600 names in slices of 20 give them a turn after every 20 read and every 20
// written, 60 at least (the sorted runs' merges add more; none when the listing ran in
// one go).
BOOST_DATA_TEST_CASE(a_big_listing_lets_the_thread_run_between_slices, test::backends, backend) {
  Dir dir(600);
  Scheduler s(backend);
  int turns = 0;
  const ListingPage page = s.block_on(list_beside_a_counter(dir.fd, 20, turns));
  BOOST_TEST(page.error == 0);
  BOOST_TEST(turns >= 60);
  BOOST_TEST(hrefs(page.html) == sorted_names(600));
}

// Sorted a slice at a time and merged: every name once, in order, whatever the slice
// (one that leaves a short last run, one larger than the directory, one of one name).
BOOST_DATA_TEST_CASE(a_listing_in_slices_is_in_order, test::backends, backend) {
  Dir dir(150);
  Scheduler s(backend);
  for (std::size_t slice : {7u, 1000u, 1u}) {
    const ListingPage page = s.block_on(listing_page(dir.fd, "/d/", slice));
    BOOST_TEST(page.error == 0);
    BOOST_TEST(hrefs(page.html) == sorted_names(150), "slice " << slice);
  }
}

// One listing is built at a time per thread, as each holds its page until done: three
// asked for together finish a listing's worth of turns apart (about 90 here: 30 slices
// read, 30 merges, 30 written), not side by side within a few turns of each other.
// (The waiters are suspended, not polling: the counter's turns are the holder's slices.)
BOOST_DATA_TEST_CASE(listings_are_built_one_at_a_time, test::backends, backend) {
  Dir dir(600);
  Scheduler s(backend);
  const std::vector<int> finished_at = s.block_on([](int fd) -> Task<std::vector<int>> {
    bool done = false;
    int turns = 0;
    spawn(count_turns(done, turns));
    std::vector<int> at;
    auto timed = [](int f, const int& turn, std::vector<int>& out) -> Task<int> {
      const ListingPage page = co_await listing_page(f, "/d/", 20);
      out.push_back(turn);
      co_return hrefs(page.html) == sorted_names(600) ? 0 : 1;
    };
    std::vector<Task<int>> three;
    for (int i = 0; i < 3; ++i) three.push_back(timed(fd, turns, at));
    const std::vector<int> wrong = co_await when_all(std::move(three));
    BOOST_TEST((wrong == std::vector<int>{0, 0, 0}));
    done = true;
    co_await yield();
    co_return at;
  }(dir.fd));
  BOOST_REQUIRE_EQUAL(finished_at.size(), 3u);
  BOOST_TEST(finished_at[1] - finished_at[0] >= 60);
  BOOST_TEST(finished_at[2] - finished_at[1] >= 60);
}

// The turn is taken at a listing's first pause between slices: one done in a single slice
// does not wait behind a big one that holds it.
BOOST_DATA_TEST_CASE(a_listing_of_one_slice_does_not_wait_behind_a_big_one, test::backends, backend) {
  Dir big(600);
  Dir small(5);
  Scheduler s(backend);
  const std::vector<std::string> order = s.block_on([](int big_fd, int small_fd) -> Task<std::vector<std::string>> {
    std::vector<std::string> done;
    auto listed = [](int f, std::string name, int names, std::vector<std::string>& out) -> Task<int> {
      const ListingPage page = co_await listing_page(f, "/d/", 20);
      out.push_back(name);
      co_return hrefs(page.html) == sorted_names(names) ? 0 : 1;
    };
    std::vector<Task<int>> two;
    two.push_back(listed(big_fd, "big", 600, done));
    two.push_back(listed(small_fd, "small", 5, done));
    const std::vector<int> wrong = co_await when_all(std::move(two));
    BOOST_TEST((wrong == std::vector<int>{0, 0}));
    co_return done;
  }(big.fd, small.fd));
  BOOST_TEST((order == std::vector<std::string>{"small", "big"}));
}

// A server that stops gives up its listings, the one building and those waiting, and the
// turn is free again for the thread's next scheduler.
BOOST_DATA_TEST_CASE(listings_give_up_when_the_scheduler_stops, test::backends, backend) {
  Dir dir(600);
  {
    Scheduler s(backend);
    const std::vector<int> errors = s.block_on([](int fd) -> Task<std::vector<int>> {
      auto listed = [](int f) -> Task<int> {
        const ListingPage page = co_await listing_page(f, "/d/", 20);
        co_return page.error;
      };
      auto stopper = []() -> Task<int> {
        for (int i = 0; i < 10; ++i) co_await yield();
        Scheduler::current().stop();
        co_return 0;
      };
      std::vector<Task<int>> four;
      for (int i = 0; i < 3; ++i) four.push_back(listed(fd));
      four.push_back(stopper());
      co_return co_await when_all(std::move(four));
    }(dir.fd));
    BOOST_TEST((errors == std::vector<int>{-ECANCELED, -ECANCELED, -ECANCELED, 0}));
  }
  Scheduler again(backend);
  const ListingPage page = again.block_on(listing_page(dir.fd, "/d/", 20));
  BOOST_TEST(page.error == 0);
  BOOST_TEST(hrefs(page.html) == sorted_names(600));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_directory_listing_tests
