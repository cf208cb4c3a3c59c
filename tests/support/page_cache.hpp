// Dropping a file's pages from the page cache, so a test can exercise the "bytes not in
// memory" paths (sendfile refuses them; they are read asynchronously instead).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

namespace hellepoll::test {

// True once no page of `fd` from the first page boundary at or after byte `from` is resident.
// Pages still in a per-CPU LRU batch or under writeback survive one POSIX_FADV_DONTNEED,
// so it tries a few times; pages sendfile left in a socket's queue stay until the peer reads
// them, so a test that sent part of the file drops only the rest. False on a filesystem that
// keeps its pages regardless (tmpfs): build the tests on a disk.
inline bool drop_from_page_cache(int fd, std::size_t from = 0) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  from = (from + page - 1) / page * page;
  struct stat st {};
  if (::fstat(fd, &st) < 0 || st.st_size == 0) return false;
  if (static_cast<std::size_t>(st.st_size) <= from) return true;  // nothing left to drop
  const auto size = static_cast<std::size_t>(st.st_size) - from;
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(from));
  if (map == MAP_FAILED) return false;
  std::vector<unsigned char> resident((size + page - 1) / page);
  bool dropped = false;
  for (int attempt = 0; attempt < 20 && !dropped; ++attempt) {
    ::fdatasync(fd);
    ::posix_fadvise(fd, static_cast<off_t>(from), 0, POSIX_FADV_DONTNEED);
    dropped = ::mincore(map, size, resident.data()) == 0;
    for (unsigned char r : resident) dropped = dropped && !(r & 1);
    if (!dropped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::munmap(map, size);
  return dropped;
}

}  // namespace hellepoll::test
