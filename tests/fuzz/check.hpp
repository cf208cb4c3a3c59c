// What the fuzz targets share: CHECK(condition) aborts when the condition is false, naming
// the file, line and condition, so libFuzzer keeps the input and the report says which
// invariant broke. (assert() would vanish under NDEBUG.)
#pragma once

#include <cstdio>
#include <cstdlib>

namespace fuzz {
[[noreturn]] inline void fail(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, condition);
  std::abort();
}
}  // namespace fuzz

#define CHECK(c) ((c) ? void() : ::fuzz::fail(__FILE__, __LINE__, #c))
