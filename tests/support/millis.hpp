// A duration in milliseconds, for test messages ("took 104.2 ms").
#pragma once

#include <chrono>

#include "hellepoll/clock.hpp"

namespace hellepoll::test {
inline double ms(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
}  // namespace hellepoll::test
