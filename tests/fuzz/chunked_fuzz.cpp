// The chunked decoder must give the same bytes and outcome however its input is split.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hellepoll/http/chunked.hpp"

using namespace hellepoll::http;

namespace {
struct Decoded {
  ChunkedDecoder::State state;
  std::string body;
  std::size_t consumed;
  int status;
};

Decoded run(std::string_view in, std::size_t step) {
  Limits limits;
  limits.max_body = 1 << 16;
  ChunkedDecoder d(limits);
  Decoded out{ChunkedDecoder::State::NeedMore, {}, 0, 0};
  std::size_t fed = 0;  // bytes made available so far
  std::size_t pos = 0;  // bytes consumed
  while (true) {
    fed = step == 0 ? in.size() : std::min(in.size(), fed + step);
    std::string_view avail = in.substr(pos, fed - pos);
    auto s = d.decode(avail);
    pos += s.consumed;
    if (s.consumed > avail.size()) std::abort();
    if (s.state == ChunkedDecoder::State::Data) {
      out.body.append(s.data);
      continue;
    }
    if (s.state == ChunkedDecoder::State::NeedMore) {
      if (pos != fed) std::abort();  // NeedMore consumes everything it was given
      if (fed == in.size()) break;
      continue;
    }
    out.state = s.state;
    if (s.state == ChunkedDecoder::State::Error) out.status = d.error().status;
    break;
  }
  out.consumed = pos;
  if (out.state == ChunkedDecoder::State::NeedMore) out.consumed = 0;
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  Decoded a = run(in, 0), b = run(in, 1 + data[0] % 7);
  if (a.state != b.state || a.body != b.body || a.status != b.status) std::abort();
  if (a.state == ChunkedDecoder::State::Done && a.consumed != b.consumed) std::abort();
  return 0;
}
