// Whatever the request path, an accepted result never leaves the document root; and the
// path a request is routed by (route_path) names the same file as the request's own, so
// the route chosen and the file served can never disagree.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hellepoll/http/path.hpp"

using namespace hellepoll::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view path(reinterpret_cast<const char*>(data), size);
  const auto routed = route_path(path);
  if (is_route_path(path) && (!routed || *routed != path)) std::abort();
  if (routed) {
    if (route_path(*routed) != *routed) std::abort();  // a normal form stays one
    // What the file handler makes of the routed path is that path, decoded: nothing
    // resolved after routing, so the route chosen and the file served name the same thing.
    const auto b = normalize_request_path(*routed);
    if (b && !b->rel.empty() && percent_decode(*routed) != "/" + b->rel + (b->trailing_slash ? "/" : "")) std::abort();
    if (b && b->rel.empty() && *routed != "/") std::abort();
    // A path the handler would take as it came names the same file routed. (The converse
    // need not hold: "/%00/../x" is "/x", its refused segment resolved away.)
    const auto a = normalize_request_path(path);
    if (a && (!b || a->rel != b->rel || a->trailing_slash != b->trailing_slash)) std::abort();
  } else if (normalize_request_path(path)) {
    std::abort();  // refused for routing, it must not name a file either
  }
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
