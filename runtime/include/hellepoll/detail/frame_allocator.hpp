// Recycles coroutine frames per thread. A request runs several short-lived coroutines
// (read, parse, handler, write), and malloc/free of their frames was the largest user-space
// cost in the pipelined benchmark (bench/RESULTS.md). Frames are kept in free lists by
// size class (64-byte steps up to 4 KiB), at most 4 MiB of them per thread; larger frames
// and the overflow go to ::operator new/delete. Under AddressSanitizer recycling is off, so
// use-after-free of a frame is still caught.
#pragma once

#include <cstddef>

namespace hellepoll::detail {

void* allocate_frame(std::size_t size);
void free_frame(void* p, std::size_t size) noexcept;

}  // namespace hellepoll::detail
