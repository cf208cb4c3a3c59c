// Whole 4 KiB pages for connection input buffers, kept per thread. Why not malloc: a
// connection that goes idle gives its buffer back, and a freed 4 KiB malloc chunk wedged
// between live coroutine frames almost never spans a whole aligned page, so neither
// free() nor malloc_trim() can return it and idle connections kept ~4 KB of RSS each
// (bench/RESULTS.md, 2026-11-29). A page given back cold is madvise(MADV_DONTNEED)'d:
// its RSS goes at once, and its next use faults in a zero page.
// Under AddressSanitizer pages come from operator new, so overflows are still caught.
#pragma once

#include <cstddef>

namespace hellepoll::http::detail {

inline constexpr std::size_t page_bytes = 4096;

char* take_page();
// `cold`: the memory will not be needed soon (an idle connection): release its RSS.
void give_page(char* page, bool cold) noexcept;

}  // namespace hellepoll::http::detail
