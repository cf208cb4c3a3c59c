#include "openat2_compat.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <string_view>

#include "hellepoll/log.hpp"

namespace hellepoll::detail {
namespace {

constexpr int max_depth = 256;  // directories held open at once while walking down

// The directories walked into, each held open until the walk ends (".." goes back to the
// one before); closes them all, keeping errno.
struct Walk {
  int start;
  int fds[max_depth];
  int depth = 0;
  explicit Walk(int dirfd) noexcept : start(dirfd) {}
  ~Walk() {
    const int saved = errno;
    while (depth > 0) ::close(fds[--depth]);
    errno = saved;
  }
  int current() const noexcept { return depth ? fds[depth - 1] : start; }
  // Into the directory `name` of the current one; false with errno set.
  bool enter(const std::string& name) noexcept {
    if (depth == max_depth) {
      errno = ENAMETOOLONG;
      return false;
    }
    const int fd = ::openat(current(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      // O_DIRECTORY on a symbolic link fails with ENOTDIR: say what it is.
      struct stat st {};
      if (errno == ENOTDIR && ::fstatat(current(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode))
        errno = ELOOP;
      return false;
    }
    fds[depth++] = fd;
    return true;
  }
  bool leave() noexcept {
    if (depth == 0) {
      errno = EXDEV;  // above where the walk began
      return false;
    }
    ::close(fds[--depth]);
    return true;
  }
};

}  // namespace

long open_beneath_by_names(int dirfd, const char* path, const open_how& how) noexcept {
  constexpr auto supported = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  if (!(how.resolve & RESOLVE_BENEATH) || (how.resolve & ~supported)) {
    errno = ENOSYS;
    return -1;
  }
  std::string_view rest = path;
  if (rest.empty()) {
    errno = ENOENT;
    return -1;
  }
  if (rest.front() == '/') {
    errno = EXDEV;
    return -1;
  }
  try {
    Walk walk(dirfd);
    std::string last = ".";
    for (;;) {
      const std::size_t slash = rest.find('/');
      const std::string name(rest.substr(0, slash));
      if (slash == std::string_view::npos) {
        last = name.empty() ? "." : name;
        break;
      }
      rest.remove_prefix(slash + 1);
      if (name.empty() || name == ".") continue;
      if (name == ".." ? !walk.leave() : !walk.enter(name)) return -1;
      if (rest.empty()) break;  // "a/b/": the directory b itself
    }
    if (last == "..") {
      if (!walk.leave()) return -1;
      last = ".";
    }
    const int fd = ::openat(walk.current(), last.c_str(), static_cast<int>(how.flags) | O_NOFOLLOW,
                            static_cast<mode_t>(how.mode));
    if (fd < 0) return -1;
    if (how.flags & O_PATH) {  // O_PATH | O_NOFOLLOW opens a link itself: refuse it too
      struct stat st {};
      if (::fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
        ::close(fd);
        errno = ELOOP;
        return -1;
      }
    }
    return fd;
  } catch (...) {  // a name's std::string
    errno = ENOMEM;
    return -1;
  }
}

long openat2_compat(int dirfd, const char* path, const open_how& how) noexcept {
  const long r = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  if (r >= 0 || errno != ENOSYS) return r;
  static std::atomic<bool> told{false};
  if (!told.exchange(true)) {
    try {
      log(LogLevel::warn,
          "openat2 is not available (a kernel before 5.6, or refused by a seccomp filter): files are opened "
          "beneath their directory name by name, and no symbolic link is followed");
    } catch (...) {
    }
  }
  return open_beneath_by_names(dirfd, path, how);
}

}  // namespace hellepoll::detail
