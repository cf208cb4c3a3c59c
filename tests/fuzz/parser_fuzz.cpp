// The request parser fed in one block and split at fuzzer-chosen points must agree on
// the outcome and on every field of the head. Buffers are copied to fresh allocations
// of exactly their size each time, so ASan catches any read past the end.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "hellepoll/http/parser.hpp"

using namespace hellepoll::http;

namespace {
struct Outcome {
  ParseResult result;
  int status;
  std::size_t head_size;
};

Outcome feed(std::string_view data, std::size_t step, RequestParser& p, std::unique_ptr<char[]>& keep) {
  p.reset();
  ParseResult r = ParseResult::NeedMore;
  std::size_t len = 0;
  while (r == ParseResult::NeedMore && len < data.size()) {
    len = step == 0 ? data.size() : std::min(data.size(), len + step);
    keep.reset(new char[len]);
    std::memcpy(keep.get(), data.data(), len);
    r = p.parse(std::string_view(keep.get(), len));
  }
  return {r, r == ParseResult::Error ? p.error().status : 0, r == ParseResult::Complete ? p.head_size() : 0};
}

void check_same(const RequestHead& a, const RequestHead& b) {
  if (a.method != b.method || a.target != b.target || a.path != b.path || a.query != b.query ||
      a.version_minor != b.version_minor || a.headers.size() != b.headers.size() || a.body != b.body ||
      a.content_length != b.content_length || a.keep_alive != b.keep_alive || a.host != b.host)
    std::abort();
  for (std::size_t i = 0; i < a.headers.size(); ++i)
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t step = 1 + data[0] % 17;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  Limits limits;
  limits.max_headers = 16;
  limits.max_header_bytes = 4096;
  limits.max_request_line = 1024;
  RequestParser whole(limits), split(limits);
  std::unique_ptr<char[]> a, b;
  Outcome x = feed(input, 0, whole, a);
  Outcome y = feed(input, step, split, b);
  if (x.result != y.result || x.status != y.status || x.head_size != y.head_size) std::abort();
  if (x.result == ParseResult::Complete) check_same(whole.head(), split.head());
  if (x.result == ParseResult::Error && (x.status < 400 || x.status > 599 || whole.error().message.empty()))
    std::abort();
  return 0;
}
