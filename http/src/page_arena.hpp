// A memory resource that carves a connection's parser storage out of one pooled page
// (see page_pool.hpp for why whole pages). Bump allocation: deallocating inside the page
// is a no-op, and the page goes back whole when the parser is gone. What does not fit
// (a head with very many fields) comes from the heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>

#include "page_pool.hpp"

namespace hellepoll::http::detail {

class PageArena final : public std::pmr::memory_resource {
 public:
  PageArena() = default;
  PageArena(const PageArena&) = delete;
  PageArena& operator=(const PageArena&) = delete;
  ~PageArena() override { release(false); }

  // Only once nothing allocated here is in use (the parser is destroyed). `cold`: the
  // connection is idle, give the RSS back.
  void release(bool cold) noexcept {
    if (page_) give_page(page_, cold);
    page_ = nullptr;
    used_ = 0;
  }

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    if (!page_) page_ = take_page();
    const std::size_t start = (used_ + align - 1) & ~(align - 1);
    if (start + bytes <= page_bytes) {
      used_ = start + bytes;
      return page_ + start;
    }
    return std::pmr::new_delete_resource()->allocate(bytes, align);
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    const auto base = reinterpret_cast<std::uintptr_t>(page_);
    if (page_ && at >= base && at < base + page_bytes) return;  // reclaimed with the page
    std::pmr::new_delete_resource()->deallocate(p, bytes, align);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

  char* page_ = nullptr;
  std::size_t used_ = 0;
};

}  // namespace hellepoll::http::detail
