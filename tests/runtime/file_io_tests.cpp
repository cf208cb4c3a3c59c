#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "hellepoll/io.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"

using namespace hellepoll;

namespace {
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/hellepoll-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
  std::string path;
};
}  // namespace

BOOST_AUTO_TEST_SUITE(file_io)

BOOST_DATA_TEST_CASE(open_write_read_stat_fsync_close, test::backends, backend) {
  TempDir dir;
  Scheduler s(backend);
  std::string path = dir.path + "/data.bin";
  s.block_on([](std::string p) -> Task<void> {
    int fd = co_await io::openat(AT_FDCWD, p.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    BOOST_REQUIRE(fd >= 0);
    std::vector<char> data(1 << 20);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
    int w = co_await io::write_at(fd, data.data(), data.size(), 0);
    BOOST_TEST(w == static_cast<int>(data.size()));
    BOOST_TEST(co_await io::fsync(fd) == 0);

    struct statx st{};
    BOOST_TEST(co_await io::statx(AT_FDCWD, p.c_str(), 0, STATX_SIZE, &st) == 0);
    BOOST_TEST(st.stx_size == data.size());

    std::vector<char> back(4096);
    int r = co_await io::read_at(fd, back.data(), back.size(), 12345);
    BOOST_REQUIRE(r == 4096);
    for (std::size_t i = 0; i < back.size(); ++i) BOOST_REQUIRE(back[i] == data[12345 + i]);
    // Reading at the end returns 0, not an error.
    BOOST_TEST(co_await io::read_at(fd, back.data(), back.size(), data.size()) == 0);
    BOOST_TEST(co_await io::close(fd) == 0);
  }(path));
}

BOOST_DATA_TEST_CASE(errors_come_back_as_negative_errno, test::backends, backend) {
  Scheduler s(backend);
  s.block_on([]() -> Task<void> {
    BOOST_TEST(co_await io::openat(AT_FDCWD, "/nonexistent/hellepoll", O_RDONLY) == -ENOENT);
    char buf[4];
    BOOST_TEST(co_await io::read_at(-1, buf, sizeof buf, 0) == -EBADF);
  }());
}

BOOST_DATA_TEST_CASE(many_concurrent_reads_complete, test::backends, backend) {
  TempDir dir;
  std::string path = dir.path + "/f";
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
    std::vector<unsigned char> bytes(256 * 64);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i / 64);
    BOOST_REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  Scheduler s(backend);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::vector<Task<int>> reads;
  // More than the epoll pool's queue holds at once would be 4096; 256 exercises batching.
  for (int i = 0; i < 256; ++i)
    reads.push_back([](int f, int block) -> Task<int> {
      unsigned char buf[64];
      int r = co_await io::read_at(f, buf, sizeof buf, static_cast<std::uint64_t>(block) * 64);
      if (r != 64) co_return -1;
      for (unsigned char c : buf)
        if (c != block) co_return -2;
      co_return block;
    }(fd, i));
  auto results = s.block_on(when_all(std::move(reads)));
  for (int i = 0; i < 256; ++i) BOOST_TEST(results[static_cast<std::size_t>(i)] == i);
  ::close(fd);
}

BOOST_AUTO_TEST_SUITE_END()
