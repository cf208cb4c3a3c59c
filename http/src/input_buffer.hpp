// A connection's input buffer: [start, end) holds unconsumed bytes of the current (and
// any pipelined) requests. It starts as one pooled page and grows (on the heap) only as
// far as the limits let the connection ask.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "page_pool.hpp"

namespace hellepoll::http::detail {

class InputBuffer {
 public:
  InputBuffer() = default;
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;
  ~InputBuffer() { free_data(false); }

  std::string_view view() const noexcept { return {data_ + start_, end_ - start_}; }
  std::size_t size() const noexcept { return end_ - start_; }
  std::size_t capacity() const noexcept { return cap_; }
  bool empty() const noexcept { return start_ == end_; }
  void consume(std::size_t n) noexcept {
    start_ += n;
    if (start_ == end_) start_ = end_ = 0;
  }
  // Room to read into, making at least `want` bytes free (compacting, then growing: to
  // twice the capacity, but not past `most` unless `want` needs it).
  std::span<std::byte> space(std::size_t want = page_bytes, std::size_t most = SIZE_MAX) {
    if (cap_ - end_ < want && start_ > 0) {
      std::memmove(data_, data_ + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (cap_ - end_ < want) {
      const std::size_t cap = std::max(std::min(cap_ * 2, most), end_ + want);
      char* bigger = cap == page_bytes ? take_page() : new char[cap];
      if (end_ > start_) std::memcpy(bigger, data_ + start_, end_ - start_);  // data_ may be null
      end_ -= start_;
      start_ = 0;
      free_data(false);
      data_ = bigger;
      cap_ = cap;
    }
    return {reinterpret_cast<std::byte*>(data_ + end_), cap_ - end_};
  }
  void commit(std::size_t n) noexcept { end_ += n; }
  // Forgets the unconsumed bytes after the first `keep` (ones already decoded elsewhere).
  void truncate(std::size_t keep) noexcept { end_ = std::min(end_, start_ + keep); }
  // For a buffer grown past a page (for a request body): frees it when empty (space()
  // allocates again), else moves the unconsumed bytes (the start of a pipelined request
  // read with the body's end) into the smallest buffer that holds them, if that is smaller.
  void shrink() {
    const std::size_t n = size();
    if (n == 0) return release();
    const std::size_t cap = n <= page_bytes ? page_bytes : std::bit_ceil(n);
    if (cap >= cap_) return;
    char* smaller = cap == page_bytes ? take_page() : new char[cap];
    if (n > 0) std::memcpy(smaller, data_ + start_, n);
    free_data(false);
    data_ = smaller;
    cap_ = cap;
    start_ = 0;
    end_ = n;
  }
  // Gives the memory back (only when empty) for a while, RSS included; space()
  // allocates again.
  void release() noexcept {
    free_data(true);
    data_ = nullptr;
    cap_ = start_ = end_ = 0;
  }

 private:
  void free_data(bool cold) noexcept {
    if (!data_) return;
    if (cap_ == page_bytes) give_page(data_, cold);
    else delete[] data_;
  }

  char* data_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
};

}  // namespace hellepoll::http::detail
