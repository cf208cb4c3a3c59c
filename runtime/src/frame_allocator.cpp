#include "hellepoll/detail/frame_allocator.hpp"

#include <new>

#include "hellepoll/detail/sanitizers.hpp"

namespace hellepoll::detail {

#if !HELLEPOLL_ASAN  // recycle; under ASan every allocation goes to the allocator
namespace {

constexpr std::size_t granule = 64;
// 64 .. 4096 bytes: the HTTP connection's per-request coroutine frame is over 1 KiB.
constexpr std::size_t classes = 64;
// A burst of tasks does not pin memory forever.
constexpr std::size_t max_cached_bytes = 4 * 1024 * 1024;

struct FreeFrame {
  FreeFrame* next;
};

struct FrameCache {
  FreeFrame* head[classes] = {};
  std::size_t bytes = 0;
  ~FrameCache() {
    for (std::size_t c = 0; c < classes; ++c)
      while (FreeFrame* f = head[c]) {
        head[c] = f->next;
        ::operator delete(f);
      }
  }
};

thread_local FrameCache cache;

std::size_t class_of(std::size_t size) noexcept { return (size + granule - 1) / granule - 1; }

}  // namespace

void* allocate_frame(std::size_t size) {
  const std::size_t c = class_of(size);
  if (c >= classes) return ::operator new(size);
  if (FreeFrame* f = cache.head[c]) {
    cache.head[c] = f->next;
    cache.bytes -= (c + 1) * granule;
    return f;
  }
  return ::operator new((c + 1) * granule);
}

void free_frame(void* p, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (c >= classes || cache.bytes + (c + 1) * granule > max_cached_bytes) {
    ::operator delete(p);
    return;
  }
  auto* f = static_cast<FreeFrame*>(p);
  f->next = cache.head[c];
  cache.head[c] = f;
  cache.bytes += (c + 1) * granule;
}

#else  // AddressSanitizer: plain allocation, so a freed frame stays poisoned.

void* allocate_frame(std::size_t size) { return ::operator new(size); }
void free_frame(void* p, std::size_t) noexcept { ::operator delete(p); }

#endif

}  // namespace hellepoll::detail
