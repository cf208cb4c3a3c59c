// The epoll backend's way around its file thread pool: most files a server touches are
// in the page cache and their paths in the dentry cache, and the kernel can say so
// without blocking. A hand-off to the pool and back costs two context switches, which
// for a small static file is most of the work.
#pragma once

#include "hellepoll/operation.hpp"

namespace hellepoll::detail {

// Performs `op` now if the kernel can do it without waiting for a disk (or any other
// sleep); returns true with the result (or -errno) in `result`. Returns false when it
// would block: then nothing happened and the op belongs in the pool.
//   openat/openat2: RESOLVE_CACHED (the lookup only from the dentry cache), and only
//                   with O_NONBLOCK and without O_CREAT/O_TRUNC (which may write)
//   read_at:        preadv2(RWF_NOWAIT): only what is in the page cache (may be short)
//   statx:          only of an open fd (AT_EMPTY_PATH with an empty path)
bool try_file_op_without_blocking(Operation& op, int& result) noexcept;

}  // namespace hellepoll::detail
