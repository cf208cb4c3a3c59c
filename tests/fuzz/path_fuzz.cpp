// Request paths and the escapes built from untrusted names. Input: the bytes of a path (or
// of a file name, or a query). Checks:
//  - an accepted path never leaves the document root: no "." or ".." segment, no leading
//    '/', NUL or '\' in what normalize_request_path gives;
//  - the path a request is routed by (route_path) names the same file as the request's own,
//    so the route chosen and the file served never disagree: what the handler makes of the
//    routed path is that path decoded, a path it takes as it came names the same file, and
//    one route_path refuses names no file;
//  - route_path gives a normal form: it starts with '/', has no empty, "." or ".." segment,
//    keeps only upper-case escapes of '/', '%' and controls (no control byte raw unless the
//    input had one), is_route_path says so exactly when no escape is left, and route_path
//    leaves it as it is;
//  - percent_encode_path_segment yields unreserved bytes and "%XX" only, decodes back to the
//    input, and as a path segment names exactly that file name (or the root, or nothing);
//  - percent_encode_query leaves escapes as they were and no byte a query may not carry,
//    is idempotent, and decodes as the input did;
//  - html_escape leaves no < > " ' and unescapes back to the input.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "check.hpp"
#include "hellepoll/http/path.hpp"

using namespace hellepoll::http;

namespace {
bool is_hex_upper(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }
bool is_hex(char c) { return is_hex_upper(c) || (c >= 'a' && c <= 'f'); }
bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }
bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// What the file handler makes of a request path, and that it stays inside the root.
void check_routed(std::string_view path) {
  const auto routed = route_path(path);
  if (is_route_path(path)) CHECK(routed == path);
  const auto n = normalize_request_path(path);
  if (!routed) {
    CHECK(!n);  // refused for routing, it must not name a file either
    return;
  }
  CHECK(route_path(*routed) == routed);  // a normal form stays one
  // Nothing is resolved after routing: the handler's file for the routed path is that
  // path decoded. A path the handler would take as it came names the same file. (The
  // converse need not hold: "/%00/../x" is "/x", its refused segment resolved away.)
  const auto b = normalize_request_path(*routed);
  if (b && !b->rel.empty()) CHECK(percent_decode(*routed) == "/" + b->rel + (b->trailing_slash ? "/" : ""));
  if (b && b->rel.empty()) CHECK(*routed == "/");
  if (n) CHECK(b && n->rel == b->rel && n->trailing_slash == b->trailing_slash);

  if (path.empty() || path.front() != '/') return;
  const std::string& p = *routed;
  CHECK(p.front() == '/' && p.find("//") == std::string::npos);
  CHECK(p.find("/./") == std::string::npos && p.find("/../") == std::string::npos);
  CHECK(!p.ends_with("/.") && !p.ends_with("/.."));
  for (std::size_t k = p.find('%'); k != std::string::npos; k = p.find('%', k + 1)) {
    CHECK(k + 2 < p.size() && is_hex_upper(p[k + 1]) && is_hex_upper(p[k + 2]));
    const int v = std::stoi(p.substr(k + 1, 2), nullptr, 16);
    CHECK(v == '/' || v == '%' || is_control(static_cast<unsigned char>(v)));
  }
  bool raw_control = false;  // the parser lets none through; an escaped one stays escaped
  for (unsigned char c : path) raw_control |= is_control(c);
  if (!raw_control)
    for (unsigned char c : p) CHECK(!is_control(c));
  CHECK(is_route_path(p) == (p.find('%') == std::string::npos));
}

void check_file(std::string_view path) {
  const auto n = normalize_request_path(path);
  if (!n) return;
  const std::string& rel = n->rel;
  CHECK(rel.empty() || rel.front() != '/');
  CHECK(rel.find('\0') == std::string::npos && rel.find('\\') == std::string::npos);
  for (std::size_t start = 0; start <= rel.size();) {
    const std::size_t end = std::min(rel.find('/', start), rel.size());
    const std::string_view seg(rel.data() + start, end - start);
    CHECK(seg != ".." && seg != ".");
    start = end + 1;
  }
}

void check_segment_encoding(std::string_view name) {
  const std::string e = percent_encode_path_segment(name);
  for (std::size_t k = 0; k < e.size(); ++k) {
    if (e[k] == '%') {
      CHECK(k + 2 < e.size() && is_hex_upper(e[k + 1]) && is_hex_upper(e[k + 2]));
      k += 2;
    } else {
      CHECK(is_unreserved(static_cast<unsigned char>(e[k])));
    }
  }
  CHECK(percent_decode(e) == name);
  // As a link in a listing: that file, or the root, or refused.
  const auto n = normalize_request_path("/" + e);
  bool plain = name.find_first_of("/\\") == std::string_view::npos;
  for (unsigned char c : name) plain &= !is_control(c);
  if (name.empty() || name == ".") {
    CHECK(n && n->rel.empty());
  } else if (name == ".." || !plain) {
    CHECK(!n);
  } else {
    CHECK(n && n->rel == name && !n->trailing_slash);
  }
}

void check_query_encoding(std::string_view query) {
  const std::string q = percent_encode_query(query);
  static constexpr std::string_view kept = "!$&'()*+,;=:@/?";  // RFC 3986 §3.4, beside unreserved
  for (std::size_t k = 0; k < q.size(); ++k) {
    if (q[k] == '%') {
      CHECK(k + 2 < q.size() && is_hex(q[k + 1]) && is_hex(q[k + 2]));
      k += 2;
    } else {
      CHECK(is_unreserved(static_cast<unsigned char>(q[k])) || kept.find(q[k]) != std::string_view::npos);
    }
  }
  CHECK(percent_encode_query(q) == q);
  if (const auto d = percent_decode(query)) CHECK(percent_decode(q) == d);
}

void check_html_escape(std::string_view text) {
  const std::string h = html_escape(text);
  CHECK(h.find_first_of("<>\"'") == std::string::npos);
  std::string back;
  for (std::size_t k = 0; k < h.size(); ++k) {
    if (h[k] != '&') {
      back.push_back(h[k]);
      continue;
    }
    const std::string_view rest = std::string_view(h).substr(k);
    bool known = false;
    for (auto [entity, c] : {std::pair{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}}) {
      if (!rest.starts_with(entity)) continue;
      back.push_back(c);
      k += std::string_view(entity).size() - 1;
      known = true;
      break;
    }
    CHECK(known);
  }
  CHECK(back == text);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_routed(in);
  check_file(in);
  check_segment_encoding(in);
  check_query_encoding(in);
  check_html_escape(in);
  return 0;
}
