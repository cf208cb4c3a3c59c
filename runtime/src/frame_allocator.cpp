#include "hellepoll/detail/frame_allocator.hpp"

#include <new>

#include "hellepoll/detail/sanitizers.hpp"

namespace hellepoll::detail {

#if !HELLEPOLL_ASAN  // recycle; under ASan every allocation goes to the allocator
namespace {

constexpr std::size_t granule = 64;
constexpr std::size_t classes = 16;                 // 64 .. 1024 bytes
constexpr std::size_t max_cached_per_class = 4096;  // a burst of tasks does not pin memory forever

struct FreeFrame {
  FreeFrame* next;
};

struct FrameCache {
  FreeFrame* head[classes] = {};
  std::size_t count[classes] = {};
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
    --cache.count[c];
    return f;
  }
  return ::operator new((c + 1) * granule);
}

void free_frame(void* p, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (c >= classes || cache.count[c] >= max_cached_per_class) {
    ::operator delete(p);
    return;
  }
  auto* f = static_cast<FreeFrame*>(p);
  f->next = cache.head[c];
  cache.head[c] = f;
  ++cache.count[c];
}

#else  // AddressSanitizer: plain allocation, so a freed frame stays poisoned.

void* allocate_frame(std::size_t size) { return ::operator new(size); }
void free_frame(void* p, std::size_t) noexcept { ::operator delete(p); }

#endif

}  // namespace hellepoll::detail
