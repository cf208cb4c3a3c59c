// Range parsing never yields a range outside the representation, nor an empty one.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "hellepoll/http/range.hpp"

using namespace hellepoll::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::uint64_t length;
  std::memcpy(&length, data, 8);
  length %= (1ull << 40);
  std::string_view header(reinterpret_cast<const char*>(data + 8), size - 8);
  RangeSpec spec = parse_range(header, length);
  if (spec.kind() == RangeSpec::Kind::satisfiable) {
    if (spec.ranges().empty() || spec.ranges().size() > RangeSpec::max_ranges) std::abort();
    for (const ByteRange& r : spec.ranges())
      if (r.first > r.last || r.last >= length) std::abort();
  }
  return 0;
}
