// open_shared (http/src/shared_open.hpp): requests for one file that start in the same
// turn share one open on io_uring, where the turn's operations reach the kernel together;
// on epoll every open starts at once and nothing is shared. Either way no request sees a
// file older than its own open would have: one replaced on disk is seen by the next open.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "hellepoll/when_all.hpp"
#include "shared_open.hpp"
#include "support/backends.hpp"
#include "support/fds.hpp"
#include "support/temp_dir.hpp"

namespace http_shared_open_tests {

using namespace hellepoll;
using namespace hellepoll::http;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::is_open;

namespace {

// A temporary document root, open as roots are.
struct Dir : test::TempDir {
  int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ~Dir() { ::close(fd); }
  // Writes `name` by renaming a new file over it, as a deploy does.
  void put(const std::string& name, const std::string& data) const {
    const fs::path tmp = path / (name + ".new");
    std::ofstream(tmp, std::ios::binary) << data;
    fs::rename(tmp, path / name);
  }
};

std::string contents(int fd, std::size_t size) {
  std::string s(size, '\0');
  const ssize_t n = ::pread(fd, s.data(), size, 0);
  s.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return s;
}

Task<std::vector<OpenedFile>> open_together(int root, std::string rel, int n) {
  std::vector<Task<OpenedFile>> opens;
  for (int i = 0; i < n; ++i) opens.push_back(open_shared(root, rel));
  co_return co_await when_all(std::move(opens));  // all start in this turn
}

// Started beside a first open: a turn later (that open has gone to the kernel, finished or
// not) replaces the file and opens it again, and must not be given the first one's file.
Task<OpenedFile> replace_then_open(const Dir& d) {
  co_await yield();
  d.put("a.txt", "new version\n");
  co_return co_await open_shared(d.fd, "a.txt");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shared_open)

BOOST_DATA_TEST_CASE(opens_started_in_one_turn_share_one_fd_on_io_uring_only, test::backends, backend) {
  Dir dir;
  dir.put("a.txt", "first version\n");
  Scheduler s(backend);
  std::vector<OpenedFile> files = s.block_on(open_together(dir.fd, "a.txt", 5));
  BOOST_REQUIRE_EQUAL(files.size(), 5u);
  std::set<int> fds;
  for (const OpenedFile& f : files) {
    BOOST_REQUIRE_GE(f.fd, 0);
    BOOST_TEST(f.st.stx_size == 14u);
    BOOST_TEST(contents(f.fd, 64) == "first version\n");
    fds.insert(f.fd);
  }
  if (backend == BackendKind::uring) {
    BOOST_TEST(fds.size() == 1u);  // one open for the five
    BOOST_REQUIRE(files[0].shared != nullptr);
    BOOST_TEST(files[0].shared->users == 5u);
    for (const OpenedFile& f : files) BOOST_TEST(f.shared == files[0].shared);
  } else {
    BOOST_TEST(fds.size() == 5u);  // epoll: each open starts at once
    for (const OpenedFile& f : files) BOOST_TEST(f.shared == nullptr);
  }
  // Each holder lets go; a shared fd closes with the last one (after a turn, on io_uring).
  for (std::size_t i = 0; i + 1 < files.size(); ++i) release_file(files[i].fd, files[i].shared);
  BOOST_TEST(is_open(files.back().fd));
  release_file(files.back().fd, files.back().shared);
  s.block_on([]() -> Task<void> { co_await sleep_for(1ms); }());
  for (int f : fds) BOOST_TEST(!is_open(f));
}

BOOST_DATA_TEST_CASE(a_file_replaced_after_an_open_went_out_is_seen_by_the_next, test::backends, backend) {
  Dir dir;
  dir.put("a.txt", "old\n");
  Scheduler s(backend);
  auto [first, second] = s.block_on(when_all(open_shared(dir.fd, "a.txt"), replace_then_open(dir)));
  BOOST_REQUIRE_GE(first.fd, 0);
  BOOST_REQUIRE_GE(second.fd, 0);
  BOOST_TEST(contents(first.fd, 64) == "old\n");
  BOOST_TEST(contents(second.fd, 64) == "new version\n");
  BOOST_TEST(first.st.stx_ino != second.st.stx_ino);
  release_file(first.fd, first.shared);
  release_file(second.fd, second.shared);
}

BOOST_DATA_TEST_CASE(every_request_sharing_a_failed_open_gets_its_error, test::backends, backend) {
  Dir dir;
  Scheduler s(backend);
  std::vector<OpenedFile> files = s.block_on(open_together(dir.fd, "missing.txt", 3));
  BOOST_REQUIRE_EQUAL(files.size(), 3u);
  for (const OpenedFile& f : files) {
    BOOST_TEST(f.fd == -1);
    BOOST_TEST(f.error == -ENOENT);
    BOOST_TEST(f.shared == nullptr);
  }
}

BOOST_DATA_TEST_CASE(different_files_and_roots_are_never_shared, test::backends, backend) {
  Dir one, two;
  one.put("a.txt", "one a\n");
  one.put("b.txt", "one b\n");
  two.put("a.txt", "two a\n");
  Scheduler s(backend);
  auto [a, b, other_a] = s.block_on(when_all(open_shared(one.fd, "a.txt"), open_shared(one.fd, "b.txt"),
                                             open_shared(two.fd, "a.txt")));
  BOOST_TEST(contents(a.fd, 64) == "one a\n");
  BOOST_TEST(contents(b.fd, 64) == "one b\n");
  BOOST_TEST(contents(other_a.fd, 64) == "two a\n");
  for (const OpenedFile* f : {&a, &b, &other_a}) {
    BOOST_TEST(f->shared == nullptr);
    release_file(f->fd, f->shared);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_shared_open_tests
