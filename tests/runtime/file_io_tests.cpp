#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "hellepoll/io.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"
#include "support/page_cache.hpp"
#include "support/temp_dir.hpp"

namespace runtime_file_io_tests {

using namespace hellepoll;

using test::TempDir;

BOOST_AUTO_TEST_SUITE(file_io)

BOOST_DATA_TEST_CASE(open_write_read_stat_fsync_close, test::backends, backend) {
  TempDir dir;
  Scheduler s(backend);
  std::string path = (dir.path / "data.bin").string();
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

// An offset pread would refuse (above INT64_MAX: negative as an off_t) is EINVAL on both
// backends, on any filesystem: io_uring took -1 as "the current position" and read or wrote
// there (a failed lseek's -1 passed through would overwrite the wrong bytes).
BOOST_DATA_TEST_CASE(offsets_beyond_off_t_are_einval, test::backends, backend) {
  TempDir dir;
  Scheduler s(backend);
  const std::string path = (dir.path / "f.bin").string();
  s.block_on([](std::string p) -> Task<void> {
    const int fd = co_await io::openat(AT_FDCWD, p.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    BOOST_REQUIRE(fd >= 0);
    BOOST_TEST(co_await io::write_at(fd, "abcd", 4, 0) == 4);
    char buf[4] = {};
    for (const std::uint64_t off : {~std::uint64_t{0}, std::uint64_t{1} << 63}) {
      BOOST_TEST(co_await io::read_at(fd, buf, sizeof buf, off) == -EINVAL);
      BOOST_TEST(co_await io::write_at(fd, "ZZ", 2, off) == -EINVAL);
    }
    BOOST_TEST(co_await io::read_at(fd, buf, sizeof buf, 0) == 4);
    BOOST_TEST(std::string(buf, 4) == "abcd");  // nothing written anywhere
    BOOST_TEST(::lseek(fd, 0, SEEK_CUR) == 0);   // nor the position moved
    BOOST_TEST(co_await io::close(fd) == 0);
  }(path));
}

BOOST_DATA_TEST_CASE(many_concurrent_reads_complete, test::backends, backend) {
  TempDir dir;
  std::string path = (dir.path / "f").string();
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

// Files in the page cache are served without a trip to a worker on epoll (RESOLVE_CACHED,
// RWF_NOWAIT); these pin down that the shortcut answers exactly as the real calls do.
BOOST_DATA_TEST_CASE(non_blocking_opens_and_reads_give_the_same_answers, test::backends, backend) {
  TempDir dir;
  const std::string path = (dir.path / "f").string();
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
    BOOST_REQUIRE(::write(fd, "0123456789", 10) == 10);
    ::close(fd);
  }
  Scheduler s(backend);
  s.block_on([](std::string dir_path, std::string file) -> Task<void> {
    const int nb = O_RDONLY | O_NONBLOCK;
    int fd = co_await io::openat(AT_FDCWD, file.c_str(), nb);
    BOOST_REQUIRE(fd >= 0);
    BOOST_TEST((::fcntl(fd, F_GETFD) & FD_CLOEXEC));  // always close-on-exec
    char buf[16];
    BOOST_TEST(co_await io::read_at(fd, buf, 4, 3) == 4);
    BOOST_TEST(std::string(buf, 4) == "3456");
    BOOST_TEST(co_await io::read_at(fd, buf, sizeof buf, 8) == 2);  // short at the end
    BOOST_TEST(co_await io::read_at(fd, buf, sizeof buf, 10) == 0);  // EOF
    ::close(fd);
    BOOST_TEST(co_await io::openat(AT_FDCWD, (dir_path + "/missing").c_str(), nb) == -ENOENT);
    BOOST_TEST(co_await io::openat(AT_FDCWD, (file + "/below-a-file").c_str(), nb) == -ENOTDIR);
    int dfd = co_await io::openat(AT_FDCWD, dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_NONBLOCK);
    BOOST_REQUIRE(dfd >= 0);
    open_how beneath{};
    beneath.flags = nb;
    beneath.resolve = RESOLVE_BENEATH;
    BOOST_TEST(co_await io::openat2(dfd, "../", &beneath) == -EXDEV);
    int inside = co_await io::openat2(dfd, "f", &beneath);
    BOOST_TEST(inside >= 0);
    if (inside >= 0) ::close(inside);
    // O_CREAT may write: never taken as non-blocking, and still works.
    int created = co_await io::openat(AT_FDCWD, (dir_path + "/new").c_str(), O_WRONLY | O_CREAT | O_NONBLOCK, 0600);
    BOOST_TEST(created >= 0);
    if (created >= 0) ::close(created);
    ::close(dfd);
  }(dir.path.string(), path));
}

// Opening a FIFO for reading without O_NONBLOCK waits for a writer (open(2); io_uring
// opens it at once): either way it must not stall the scheduler. A ticker of five 10 ms
// sleeps finishes long before the writer turns up after 300 ms.
BOOST_DATA_TEST_CASE(a_blocking_fifo_open_does_not_stall_the_loop, test::backends, backend) {
  TempDir dir;
  const std::string fifo = (dir.path / "fifo").string();
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Scheduler s(backend);
  const auto start = std::chrono::steady_clock::now();
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    int w = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    if (w >= 0) ::close(w);
  });
  std::chrono::steady_clock::duration ticker_took{};
  auto ticker = [](std::chrono::steady_clock::time_point t0, std::chrono::steady_clock::duration* took) -> Task<int> {
    for (int i = 0; i < 5; ++i) co_await sleep_for(std::chrono::milliseconds(10));
    *took = std::chrono::steady_clock::now() - t0;
    co_return 0;
  };
  auto open_fifo = [](std::string path) -> Task<int> { co_return co_await io::openat(AT_FDCWD, path.c_str(), O_RDONLY); };
  std::vector<Task<int>> both;
  both.push_back(ticker(start, &ticker_took));
  both.push_back(open_fifo(fifo));
  auto r = s.block_on(when_all(std::move(both)));
  writer.join();
  BOOST_TEST(r[1] >= 0);
  if (r[1] >= 0) ::close(r[1]);
  const double ticker_ms = std::chrono::duration<double, std::milli>(ticker_took).count();
  BOOST_TEST(ticker_ms < 250.0);
}

// A file opened O_NONBLOCK (as servers do, so that a FIFO cannot hang the open) whose bytes
// are not cached: read_at waits for the disk like pread, on io_uring too (which on its own
// answers EAGAIN).
BOOST_DATA_TEST_CASE(reads_of_an_uncached_non_blocking_file_wait_for_the_disk, test::backends, backend) {
  Scheduler s(backend);
  std::string path = HELLEPOLL_BINARY_DIR "/hellepoll-cold-read-XXXXXX";  // a disk, not tmpfs
  const int writer = ::mkstemp(path.data());
  BOOST_REQUIRE(writer >= 0);
  std::vector<char> data(3 << 20);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 13 + (i >> 16));
  BOOST_REQUIRE(::pwrite(writer, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
  BOOST_TEST_REQUIRE(test::drop_from_page_cache(writer), "the build tree's filesystem kept the pages");
  ::close(writer);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ::unlink(path.c_str());
  BOOST_REQUIRE(fd >= 0);
  const std::vector<char> got = s.block_on([](int f, std::size_t size) -> Task<std::vector<char>> {
    std::vector<char> back(size);
    for (std::size_t at = 0; at < size;) {
      const int r = co_await io::read_at(f, back.data() + at, size - at, at);
      if (r <= 0) {
        back.resize(at);
        break;
      }
      at += static_cast<std::size_t>(r);
    }
    co_return back;
  }(fd, data.size()));
  BOOST_TEST(got.size() == data.size());
  BOOST_TEST((got == data), "the bytes read differ from the file's");
  ::close(fd);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace runtime_file_io_tests
