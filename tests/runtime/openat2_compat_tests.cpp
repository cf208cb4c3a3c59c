// Opening beneath a directory without the kernel's openat2 (runtime/src/openat2_compat):
// what RESOLVE_BENEATH refuses is refused, with its errors, and no symbolic link is
// followed. The backends use it only when openat2 is ENOSYS; the serve_e2e suite runs the
// server that way, under a seccomp filter, on both backends.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "openat2_compat.hpp"
#include "support/temp_dir.hpp"

namespace runtime_openat2_compat_tests {

using namespace hellepoll::detail;
namespace fs = std::filesystem;

namespace {

// The file's first line, or "errno N" when the open fails.
std::string open_and_read(int dirfd, const char* path, unsigned long long resolve = RESOLVE_BENEATH) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = resolve;
  const long fd = open_beneath_by_names(dirfd, path, how);
  if (fd < 0) return "errno " + std::to_string(errno);
  char buf[64];
  const ssize_t n = ::read(static_cast<int>(fd), buf, sizeof buf);
  ::close(static_cast<int>(fd));
  return n < 0 ? "read failed" : std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(openat2_compat)

BOOST_AUTO_TEST_CASE(beneath_by_names_answers_as_resolve_beneath) {
  hellepoll::test::TempDir dir;
  fs::create_directories(dir.path / "root" / "a" / "b");
  std::ofstream(dir.path / "outside.txt") << "outside";
  std::ofstream(dir.path / "root" / "top.txt") << "top";
  std::ofstream(dir.path / "root" / "a" / "b" / "deep.txt") << "deep";
  fs::create_symlink("top.txt", dir.path / "root" / "link-in");
  fs::create_symlink("../outside.txt", dir.path / "root" / "link-out");
  fs::create_directory_symlink("a", dir.path / "root" / "dir-link");
  const int root = ::open((dir.path / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  BOOST_REQUIRE(root >= 0);

  BOOST_TEST(open_and_read(root, "top.txt") == "top");
  BOOST_TEST(open_and_read(root, "a/b/deep.txt") == "deep");
  BOOST_TEST(open_and_read(root, "a//./b/../b/deep.txt") == "deep");
  BOOST_TEST(open_and_read(root, "a/../top.txt") == "top");
  const std::string exdev = "errno " + std::to_string(EXDEV), eloop = "errno " + std::to_string(ELOOP);
  BOOST_TEST(open_and_read(root, "../outside.txt") == exdev);
  BOOST_TEST(open_and_read(root, "a/../../outside.txt") == exdev);
  BOOST_TEST(open_and_read(root, (dir.path / "outside.txt").c_str()) == exdev);
  // No link is followed, in the middle of a path or at its end, leaving or not.
  BOOST_TEST(open_and_read(root, "link-in") == eloop);
  BOOST_TEST(open_and_read(root, "link-out") == eloop);
  BOOST_TEST(open_and_read(root, "dir-link/b/deep.txt") == eloop);
  BOOST_TEST(open_and_read(root, "missing.txt") == "errno " + std::to_string(ENOENT));
  BOOST_TEST(open_and_read(root, "top.txt/x") == "errno " + std::to_string(ENOTDIR));
  BOOST_TEST(open_and_read(root, "") == "errno " + std::to_string(ENOENT));
  // The directory itself, however named.
  for (const char* self : {".", "a/..", "a/b/", "a/b/.."}) {
    open_how how{};
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH;
    const long fd = open_beneath_by_names(root, self, how);
    BOOST_TEST(fd >= 0, self);
    if (fd >= 0) ::close(static_cast<int>(fd));
  }
  // What it cannot do as the kernel would is refused rather than done otherwise.
  BOOST_TEST(open_and_read(root, "top.txt", RESOLVE_BENEATH | RESOLVE_IN_ROOT) == "errno " + std::to_string(ENOSYS));
  BOOST_TEST(open_and_read(root, "top.txt", 0) == "errno " + std::to_string(ENOSYS));
  // O_PATH with O_NOFOLLOW would hand out the link itself: refused too.
  open_how path_only{};
  path_only.flags = O_PATH | O_CLOEXEC;
  path_only.resolve = RESOLVE_BENEATH;
  errno = 0;
  BOOST_TEST(open_beneath_by_names(root, "link-in", path_only) == -1);
  BOOST_TEST(errno == ELOOP);
  ::close(root);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace runtime_openat2_compat_tests
