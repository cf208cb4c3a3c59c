// openat2(2) where the kernel has none. It came in Linux 5.6; before it, and where a
// seccomp filter refuses it (some container runtimes' older default profiles), the epoll
// backend, which exists for exactly such machines, would fail every open beneath a
// directory with ENOSYS.
#pragma once

#include <linux/openat2.h>

namespace hellepoll::detail {

// openat2(dirfd, path, how); on ENOSYS, open_beneath_by_names. -1 with errno on failure.
long openat2_compat(int dirfd, const char* path, const open_how& how) noexcept;

// RESOLVE_BENEATH done in user space: `path` walked name by name with openat(O_NOFOLLOW),
// so no symbolic link is followed at all (ELOOP; the kernel's RESOLVE_BENEATH follows a
// relative one that stays inside), ".." climbs no higher than `dirfd` and an absolute
// path is EXDEV, as RESOLVE_BENEATH answers. Other resolve flags than RESOLVE_BENEATH,
// RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS (both implied here) are ENOSYS.
long open_beneath_by_names(int dirfd, const char* path, const open_how& how) noexcept;

}  // namespace hellepoll::detail
