#include "page_pool.hpp"

#include <sys/mman.h>

#include <new>
#include <vector>

#include "hellepoll/detail/sanitizers.hpp"

namespace hellepoll::http::detail {

#if !HELLEPOLL_ASAN  // recycle; under ASan every allocation goes to the allocator
namespace {

constexpr std::size_t slab_pages = 64;  // one mmap per 256 KiB of buffers

// Slabs are never unmapped: a thread's pages are reused by its next connections, and
// cold ones cost no RSS.
thread_local std::vector<char*> free_pages;

}  // namespace

char* take_page() {
  if (free_pages.empty()) {
    void* slab = ::mmap(nullptr, slab_pages * page_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slab == MAP_FAILED) throw std::bad_alloc();
    free_pages.reserve(free_pages.capacity() + slab_pages);
    for (std::size_t i = slab_pages; i-- > 0;) free_pages.push_back(static_cast<char*>(slab) + i * page_bytes);
  }
  char* page = free_pages.back();
  free_pages.pop_back();
  return page;
}

void give_page(char* page, bool cold) noexcept {
  if (cold) ::madvise(page, page_bytes, MADV_DONTNEED);
  // Cannot throw: take_page() reserved room for every page of every slab.
  free_pages.push_back(page);
}

#else

char* take_page() { return static_cast<char*>(::operator new(page_bytes)); }
void give_page(char* page, bool) noexcept { ::operator delete(page); }

#endif

}  // namespace hellepoll::http::detail
