// Whether a file descriptor is still open (for tests of who closes what, and when).
#pragma once

#include <fcntl.h>

#include <cerrno>

namespace hellepoll::test {
inline bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }
}  // namespace hellepoll::test
