// A deliberately tiny io_uring (4 SQ entries, 32 CQ entries) under thousands of
// operations at once: the SQ fills (batches are handed to the kernel early, the rest
// queue in the backend), the CQ overflows (the kernel parks completions in its overflow
// list) and every operation must still complete exactly once with its own result. epoll
// ignores the ring size and must give the same results.
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "hellepoll/io.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"

namespace runtime_ring_pressure_tests {

using namespace hellepoll;

namespace {

constexpr unsigned kTinyRing = 4;

Scheduler tiny_ring(BackendKind backend) {
  SchedulerOptions o;
  o.backend = backend;
  o.backend_options.ring_entries = kTinyRing;
  return Scheduler(o);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ring_pressure)

BOOST_DATA_TEST_CASE(ten_thousand_operations_through_a_tiny_ring_all_complete, test::backends, backend) {
  Scheduler s = tiny_ring(backend);
  constexpr int kOps = 10'000;
  int completed = 0;
  std::vector<Task<int>> ops;
  for (int i = 0; i < kOps; ++i)
    ops.push_back([](int* done) -> Task<int> {
      int r = co_await io::nop();
      ++*done;
      co_return r;
    }(&completed));
  auto results = s.block_on(when_all(std::move(ops)));
  BOOST_TEST(completed == kOps);
  BOOST_REQUIRE_EQUAL(results.size(), std::size_t{kOps});
  int failures = 0;
  for (int r : results) failures += r != 0;
  BOOST_TEST(failures == 0);
  BOOST_TEST(s.backend().in_flight() == 0u);
  // The test only means something if the CQ really overflowed.
  if (backend == BackendKind::uring) BOOST_TEST(s.backend().counters().completion_overflows > 0u);
  else BOOST_TEST(s.backend().counters().completion_overflows == 0u);
}

// A ring larger than the kernel allows (32,768 SQ entries, 65,536 CQ entries) is clamped
// to the largest, with the flags of any other ring. Before, above 8,192 entries (a CQ of 8x
// over 65,536) the ring silently lost every set-up flag (DEFER_TASKRUN, ...), and above
// 32,768 io_uring was refused with EINVAL, so `auto` fell back to epoll for a size.
BOOST_DATA_TEST_CASE(a_ring_larger_than_the_kernel_allows_is_clamped, test::backends, backend) {
  // What describe() says up to the first ';' (io_uring: the set-up flags).
  auto flags = [](const Backend& b) { const std::string d = b.describe(); return d.substr(0, d.find(';')); };
  const std::string usual = flags(*make_backend(backend));
  for (unsigned entries : {16'384u, 65'536u, 1u << 31}) {
    BOOST_TEST_CONTEXT(entries << " entries") {
      SchedulerOptions o;
      o.backend = backend;
      o.backend_options.ring_entries = entries;
      Scheduler s(o);
      BOOST_TEST(s.backend().kind() == backend);
      BOOST_TEST(flags(s.backend()) == usual);
      BOOST_TEST(s.block_on([]() -> Task<int> { co_return co_await io::nop(); }()) == 0);
    }
  }
}

BOOST_DATA_TEST_CASE(file_reads_through_a_tiny_ring_each_get_their_own_bytes, test::backends, backend) {
  char path[] = "/tmp/hellepoll-ring-XXXXXX";
  const int wfd = ::mkstemp(path);
  BOOST_REQUIRE(wfd >= 0);
  constexpr int kBlocks = 2000;
  std::string bytes;
  for (int i = 0; i < kBlocks; ++i) {  // every block differs: its number, then a letter
    std::string block(8, static_cast<char>('a' + i % 26));
    std::memcpy(block.data(), &i, sizeof i);
    bytes += block;
  }
  BOOST_REQUIRE(::write(wfd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(wfd);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  ::unlink(path);
  BOOST_REQUIRE(fd >= 0);

  Scheduler s = tiny_ring(backend);
  std::vector<Task<bool>> reads;
  for (int i = 0; i < kBlocks; ++i)
    reads.push_back([](int f, int block, const std::string* all) -> Task<bool> {
      char buf[8];
      int r = co_await io::read_at(f, buf, sizeof buf, static_cast<std::uint64_t>(block) * 8);
      co_return r == 8 && std::string(buf, 8) == all->substr(static_cast<std::size_t>(block) * 8, 8);
    }(fd, i, &bytes));
  auto ok = s.block_on(when_all(std::move(reads)));
  BOOST_REQUIRE_EQUAL(ok.size(), std::size_t{kBlocks});  // an empty result must not read as "none wrong"
  int wrong = 0;
  for (bool b : ok) wrong += !b;
  BOOST_TEST(wrong == 0);
  ::close(fd);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace runtime_ring_pressure_tests
