// Whatever the request path, an accepted result never leaves the document root.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hellepoll/http/path.hpp"

using namespace hellepoll::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view path(reinterpret_cast<const char*>(data), size);
  auto n = normalize_request_path(path);
  if (!n) return 0;
  const std::string& rel = n->rel;
  if (!rel.empty() && rel.front() == '/') std::abort();
  if (rel.find('\0') != std::string::npos || rel.find('\\') != std::string::npos) std::abort();
  std::size_t start = 0;
  while (start <= rel.size()) {
    std::size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string_view seg(rel.data() + start, end - start);
    if (seg == ".." || seg == ".") std::abort();
    start = end + 1;
  }
  (void)percent_decode(path);
  (void)html_escape(path);
  return 0;
}
