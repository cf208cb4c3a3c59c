// Opening a file beneath a root, shared by the requests for it that came in together.
//
// On io_uring, operations started during one turn of the loop reach the kernel together
// when the turn ends. A request for a file whose open was started in this turn and has not
// gone out yet waits for that open instead of starting its own: the one open still runs
// after every one of those requests had arrived, so none of them can see an older file
// than its own open would have found. Under load a turn brings several requests for a
// popular file, and they cost one openat2, one statx and one close between them.
// (h2o keeps opened files for one turn of its loop; nginx's open_file_cache, off by
// default, keeps them for up to a minute and serves a replaced file's old bytes meanwhile.)
// On epoll an open starts at once, so nothing is shared there.
#pragma once

#include <sys/stat.h>

#include <string>

#include "hellepoll/http/response.hpp"
#include "hellepoll/task.hpp"

namespace hellepoll::http {

struct OpenedFile {
  int fd = -1;                  // -1: `error` says why
  SharedFd* shared = nullptr;   // set when other requests were given the same fd
  struct statx st {};
  int error = 0;  // -errno
};

// Opens `rel` (relative to `root_fd`; "" is the root itself) so that the kernel refuses
// any escape (".." and absolute or outward symlinks fail with EXDEV), then stats it. The
// caller owns what it gets as a FileBody would: release_file(fd, shared).
Task<OpenedFile> open_shared(int root_fd, std::string rel);

}  // namespace hellepoll::http
