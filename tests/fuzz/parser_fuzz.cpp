// The request parser: however the bytes arrive, one outcome, and a head that says what the
// bytes say. Input: byte 0 the step, bytes 1-2 a split point, byte 3 the limits (small, so
// the fuzzer meets them, and varied, so their boundaries move), the rest the bytes received.
// Checks:
//  - fed whole, in steps of 1-17 bytes, and in two pieces cut at the split point, the parser
//    gives the same outcome, status, head size and every field of the head. Each call gets a
//    fresh allocation of exactly the bytes so far: ASan sees a read past them, and the views
//    must follow the bytes to their new address (the connection's buffer moves);
//  - Error: a status the parser documents, with a message;
//  - Complete: the head ends with the empty line and fits max_header_bytes; every view lies
//    inside it; the request line fits max_request_line and the fields max_headers; method and
//    field names are tokens, the target VCHARs but '#', split into path and query as the form
//    says, a '%' in the path starts an escape, the form suits the method; values hold no CR,
//    LF, NUL or DEL and no outer OWS;
//  - what decides where the request ends, recomputed from the fields: body kind, Content-Length
//    (its digits, within max_body), keep_alive, expect_continue, has_preconditions, Host (at
//    most one, exactly one on 1.1). A head that disagrees with its own fields is how requests
//    get smuggled;
//  - the head alone parses the same and one byte less is NeedMore: the bytes after the head
//    (body, next request) are never looked at;
//  - reset() forgets everything: the bytes after the head parse on the reset parser as on a
//    fresh one (pipelining).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "hellepoll/http/parser.hpp"

using namespace hellepoll::http;
using detail::iequals;

namespace {
struct Outcome {
  ParseResult result;
  int status;
  std::size_t head_size;
  bool operator==(const Outcome&) const = default;
};

// Feeds growing prefixes of `data` to `p`, reset first, until it decides or the bytes run
// out: the first `split` bytes (unless 0), then `step` more at a time (0: all at once).
Outcome feed(std::string_view data, std::size_t step, std::size_t split, RequestParser& p,
             std::unique_ptr<char[]>& keep) {
  p.reset();
  ParseResult r = ParseResult::NeedMore;
  std::size_t len = 0;
  while (r == ParseResult::NeedMore && len < data.size()) {
    if (len == 0 && split != 0) {
      len = std::min(split, data.size());
    } else {
      len = step == 0 ? data.size() : std::min(data.size(), len + step);
    }
    keep.reset(new char[len]);
    std::memcpy(keep.get(), data.data(), len);
    r = p.parse(std::string_view(keep.get(), len));
  }
  return {r, r == ParseResult::Error ? p.error().status : 0, r == ParseResult::Complete ? p.head_size() : 0};
}

void check_same(const RequestHead& a, const RequestHead& b) {
  CHECK(a.method == b.method && a.method_kind == b.method_kind && a.target == b.target &&
        a.target_form == b.target_form && a.path == b.path && a.query == b.query &&
        a.version_minor == b.version_minor && a.headers.size() == b.headers.size() && a.body == b.body &&
        a.content_length == b.content_length && a.keep_alive == b.keep_alive &&
        a.expect_continue == b.expect_continue && a.has_preconditions == b.has_preconditions && a.host == b.host);
  for (std::size_t i = 0; i < a.headers.size(); ++i)
    CHECK(a.headers[i].name == b.headers[i].name && a.headers[i].value == b.headers[i].value);
}

bool inside(std::string_view v, const char* base, std::size_t n) {
  if (v.empty()) return true;  // an empty view may point anywhere: it is never read
  const auto b = reinterpret_cast<std::uintptr_t>(base), d = reinterpret_cast<std::uintptr_t>(v.data());
  return d >= b && d + v.size() <= b + n;
}

bool is_tchar(char c) { return detail::has(static_cast<unsigned char>(c), detail::kTchar); }
bool is_ows(char c) { return c == ' ' || c == '\t'; }

// The non-empty elements of a comma-separated list, OWS-trimmed (RFC 9110 §5.6.1).
std::vector<std::string_view> elements(std::string_view list) {
  std::vector<std::string_view> out;
  while (true) {
    const std::size_t comma = list.find(',');
    std::string_view e = list.substr(0, comma);
    while (!e.empty() && is_ows(e.front())) e.remove_prefix(1);
    while (!e.empty() && is_ows(e.back())) e.remove_suffix(1);
    if (!e.empty()) out.push_back(e);
    if (comma == std::string_view::npos) return out;
    list.remove_prefix(comma + 1);
  }
}

// A Complete head `h` of `head_size` bytes, parsed from `data` at `base`.
void check_complete(const RequestHead& h, std::string_view data, const char* base, std::size_t head_size,
                    const Limits& lim) {
  CHECK(head_size >= 4 && head_size <= data.size() && head_size <= lim.max_header_bytes);
  CHECK(data.substr(head_size - 4, 4) == "\r\n\r\n");
  CHECK(h.headers.size() <= lim.max_headers);
  for (std::string_view v : {h.method, h.target, h.query, h.host}) CHECK(inside(v, base, head_size));
  if (h.path != "/" || h.target_form != TargetForm::Absolute) CHECK(inside(h.path, base, head_size));

  // The request line: empty lines, then method SP target SP HTTP/1.x CRLF.
  CHECK(!h.method.empty() && !h.target.empty());
  for (char c : h.method) CHECK(is_tchar(c));
  for (char c : h.target) CHECK(c > 0x20 && c < 0x7f && c != '#');
  const auto line_start = static_cast<std::size_t>(h.method.data() - base);
  for (std::size_t k = 0; k < line_start; k += 2) CHECK(data.substr(k, 2) == "\r\n");
  CHECK(h.target.data() == h.method.data() + h.method.size() + 1);
  CHECK(data.find('\r', line_start) - line_start <= lim.max_request_line);
  CHECK(h.version_minor == 0 || h.version_minor == 1);

  switch (h.target_form) {
    case TargetForm::Origin:
      CHECK(h.path.data() == h.target.data() && h.path.front() == '/' && h.path.find('?') == std::string_view::npos);
      if (h.path.size() < h.target.size()) {
        CHECK(h.target[h.path.size()] == '?' && h.query.data() == h.target.data() + h.path.size() + 1 &&
              h.path.size() + 1 + h.query.size() == h.target.size());
      } else {
        CHECK(h.query.empty());
      }
      for (std::size_t k = h.path.find('%'); k != std::string_view::npos; k = h.path.find('%', k + 1))
        CHECK(k + 2 < h.path.size() && std::isxdigit(static_cast<unsigned char>(h.path[k + 1])) &&
              std::isxdigit(static_cast<unsigned char>(h.path[k + 2])));
      break;
    case TargetForm::Asterisk: CHECK(h.target == "*" && h.method_kind == Method::OPTIONS); break;
    case TargetForm::Authority: CHECK(h.method_kind == Method::CONNECT); break;
    case TargetForm::Absolute: CHECK(h.method_kind != Method::CONNECT && !h.host.empty()); break;
  }
  if (h.method_kind == Method::CONNECT) CHECK(h.target_form == TargetForm::Authority);

  // The fields, and what they say.
  unsigned hosts = 0, lengths = 0, codings = 0;
  bool close = false, keep_alive = false, expect_continue = false, expect_other = false, conditional = false;
  bool chunked_last = false;
  std::string_view host, length;
  for (const Header& f : h.headers) {
    CHECK(inside(f.name, base, head_size) && inside(f.value, base, head_size));
    CHECK(!f.name.empty() && f.name.data()[f.name.size()] == ':');
    for (char c : f.name) CHECK(is_tchar(c));
    for (char c : f.value) CHECK(c != '\r' && c != '\n' && c != '\0' && c != 0x7f);
    if (!f.value.empty()) CHECK(!is_ows(f.value.front()) && !is_ows(f.value.back()));
    if (iequals(f.name, "host")) ++hosts, host = f.value;
    if (iequals(f.name, "content-length")) ++lengths, length = f.value;
    if (iequals(f.name, "transfer-encoding")) {
      ++codings;
      const auto el = elements(f.value);
      if (!el.empty()) chunked_last = iequals(el.back(), "chunked");
    }
    if (iequals(f.name, "connection"))
      for (std::string_view e : elements(f.value)) close |= iequals(e, "close"), keep_alive |= iequals(e, "keep-alive");
    if (iequals(f.name, "expect"))
      for (std::string_view e : elements(f.value)) (iequals(e, "100-continue") ? expect_continue : expect_other) = true;
    for (std::string_view n : {"if-match", "if-none-match", "if-modified-since", "if-unmodified-since"})
      conditional |= iequals(f.name, n);
  }
  CHECK(hosts <= 1 && (h.version_minor == 0 || hosts == 1));
  if (h.target_form != TargetForm::Absolute) CHECK(h.host == host);
  CHECK(!expect_other);
  CHECK(h.expect_continue == (expect_continue && h.version_minor == 1));
  CHECK(h.has_preconditions == conditional);
  CHECK(h.keep_alive == (!close && (h.version_minor == 1 || keep_alive)));
  CHECK(lengths <= 1 && !(lengths && codings));
  switch (h.body) {
    case BodyKind::None: CHECK(lengths == 0 && codings == 0 && h.content_length == 0); break;
    case BodyKind::Length: {
      // 1*DIGIT, leading zeros allowed; the parser refuses a value over 2^64 - 1.
      while (length.size() > 1 && length.front() == '0') length.remove_prefix(1);
      CHECK(lengths == 1 && !length.empty() && length.size() <= 20);
      std::uint64_t n = 0;
      for (char c : length) {
        CHECK(c >= '0' && c <= '9');
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      CHECK(n == h.content_length && n <= lim.max_body);
      break;
    }
    case BodyKind::Chunked: CHECK(codings >= 1 && h.version_minor == 1 && chunked_last); break;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const std::size_t step = 1 + data[0] % 17;
  const std::size_t split = static_cast<std::size_t>(data[1]) << 8 | data[2];
  Limits limits;
  limits.max_headers = 1 + data[3] % 16;
  limits.max_request_line = 16 + (data[3] >> 4) * 64;                             // 16 to 976
  limits.max_header_bytes = (data[3] & 0x80) ? 4096 : 512 + (data[3] & 0x70) * 8;  // 512 to 1408, or 4096
  limits.max_body = (data[3] & 1) ? 1000 : 1 << 20;
  const std::string_view input(reinterpret_cast<const char*>(data + 4), size - 4);

  RequestParser whole(limits), stepped(limits), two(limits);
  std::unique_ptr<char[]> a, b, c;
  const Outcome x = feed(input, 0, 0, whole, a);
  CHECK(feed(input, step, 0, stepped, b) == x);
  CHECK(feed(input, 0, split % (input.size() + 1), two, c) == x);
  if (x.result == ParseResult::Error) {
    const int s = x.status;
    CHECK(s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
    CHECK(!whole.error().message.empty());
    return 0;
  }
  if (x.result != ParseResult::Complete) return 0;
  check_same(whole.head(), stepped.head());
  check_same(whole.head(), two.head());
  check_complete(whole.head(), input, a.get(), x.head_size, limits);

  // The head alone is enough, and not a byte less.
  std::unique_ptr<char[]> k;
  CHECK(feed(input.substr(0, x.head_size), 0, 0, two, k) == x);
  CHECK(feed(input.substr(0, x.head_size - 1), 0, 0, two, k).result == ParseResult::NeedMore);

  // Pipelining: the next request parses on the reset parser as on a fresh one.
  const std::string_view rest = input.substr(x.head_size);
  if (!rest.empty()) {
    RequestParser fresh(limits);
    const Outcome f = feed(rest, 0, 0, fresh, k);
    CHECK(feed(rest, step, 0, whole, a) == f);
    if (f.result == ParseResult::Complete) check_same(fresh.head(), whole.head());
  }
  return 0;
}
