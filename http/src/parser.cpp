// Request-head parser. One pass, byte-resumable: each token's inner loop runs over a
// table-driven (or 16-byte SSE2) character class until the byte that ends it, and control
// goes straight on to the next token, so a short GET costs a few tight loops and no
// dispatch. Field semantics (framing, Host, Connection, Expect) are applied as each field
// line completes, while its bytes are at hand; offsets, the field views and a few flags
// survive between calls.
#include "hellepoll/http/parser.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hellepoll::http {
namespace {

using detail::has;
using detail::iequals;
using detail::is_ows;
using detail::kFieldChar;
using detail::kHexDigit;
using detail::kRegName;
using detail::kTchar;
using detail::kTargetChar;

// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
// A few cover old clients that send CRLF after a POST body; a stream of them is not HTTP.
constexpr unsigned kMaxLeadingEmptyLines = 4;

// The bytes an offset-and-length Slice names (no bounds check: the parser made the slice
// from these bytes).
template <class Slice>
std::string_view slice_of(std::string_view data, Slice s) noexcept {
  return {data.data() + s.off, s.len};
}

constexpr bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }

// n equals the literal `lower` ignoring ASCII case, where n is a field name (tchars only,
// as the parser checked) of the literal's length, and the literal is lowercase letters and
// '-'. OR-ing 0x20 into a tchar lowers a letter and maps no other tchar onto a letter or
// '-' (only CR, 0x0D, would become '-'), so comparing 4 or 8 bytes at a time is exact:
// a field line costs a few instructions here instead of a loop per byte.
template <typename Word>
bool folded_word_differs(const char* name, const char* lower) noexcept {
  Word a;
  Word b;
  std::memcpy(&a, name, sizeof a);
  std::memcpy(&b, lower, sizeof b);
  return (a | static_cast<Word>(0x2020202020202020ULL)) != b;
}

template <std::size_t N>
bool name_is(std::string_view n, const char (&lower)[N]) noexcept {
  constexpr std::size_t len = N - 1;
  static_assert(len >= 4, "names of 4 bytes or more");
  const char* name = n.data();
  if constexpr (len < 8) {
    return !folded_word_differs<std::uint32_t>(name, lower) &&
           !folded_word_differs<std::uint32_t>(name + len - 4, lower + len - 4);
  } else {
    for (std::size_t i = 0; i + 8 < len; i += 8)
      if (folded_word_differs<std::uint64_t>(name + i, lower + i)) return false;
    return !folded_word_differs<std::uint64_t>(name + len - 8, lower + len - 8);
  }
}

constexpr std::string_view kAsteriskNotOptions = "asterisk-form request-target is only allowed with OPTIONS";

// s.find(c, from), without the call to memchr for the short strings most targets are.
// from <= s.size().
std::size_t find_char(std::string_view s, char c, std::size_t from = 0) noexcept {
  if (s.size() - from > 64) return s.find(c, from);
  for (std::size_t i = from; i < s.size(); ++i)
    if (s[i] == c) return i;
  return std::string_view::npos;
}

// The two long runs of a head are the request-target and field values, and nearly all
// their bytes are plain printable ASCII. Where SSE2 exists (every x86-64) they are
// checked 16 at a time; the table loop finishes the tail. Neither reads past `end`.

// First index in [i, end) that is not VCHAR (0x21-0x7E) or is '#', which starts a
// fragment and is never part of a request-target.
std::size_t skip_target_chars(const unsigned char* p, std::size_t i, std::size_t end) noexcept {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7F);
  const __m128i hash = _mm_set1_epi8('#');
  while (end - i >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compares: bytes >= 0x80 are negative, so they fail "> 0x20" as they should.
    const __m128i vchar = _mm_and_si128(_mm_cmpgt_epi8(v, space), _mm_cmplt_epi8(v, del));
    const __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, hash), vchar);
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(ok));
    if (mask != 0xFFFF) return i + static_cast<std::size_t>(__builtin_ctz(~mask));
    i += 16;
  }
#endif
  while (i < end && has(p[i], kTargetChar)) ++i;
  return i;
}

// First index in [i, end) that is not a tchar (a field name's byte). Names are nearly
// all letters, digits and '-': those are checked 16 at a time, anything else by the table.
std::size_t skip_name_chars(const unsigned char* p, std::size_t i, std::size_t end) noexcept {
#if defined(__SSE2__)
  const __m128i case_bit = _mm_set1_epi8(0x20);
  while (end - i >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compares: bytes >= 0x80 are negative and fall outside every range.
    const __m128i folded = _mm_or_si128(v, case_bit);
    const __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(folded, _mm_set1_epi8('a' - 1)),
                                        _mm_cmplt_epi8(folded, _mm_set1_epi8('z' + 1)));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                        _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    const __m128i dash = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(alpha, digit), dash)));
    if (mask != 0xFFFF) {
      i += static_cast<std::size_t>(__builtin_ctz(~mask));
      if (!has(p[i], kTchar)) return i;
      break;  // a rarer tchar ('_', '.', ...): the table takes it from here
    }
    i += 16;
  }
#endif
  while (i < end && has(p[i], kTchar)) ++i;
  return i;
}

// First index in [i, end) that is not field-content: VCHAR / obs-text / SP / HTAB.
std::size_t skip_field_chars(const unsigned char* p, std::size_t i, std::size_t end) noexcept {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7F);
  while (end - i >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Unsigned >= 0x20 and not DEL; HTAB is left for the table check below.
    const __m128i ge_space = _mm_cmpeq_epi8(_mm_max_epu8(v, space), v);
    const __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, del), ge_space);
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(ok));
    if (mask == 0xFFFF) {
      i += 16;
      continue;
    }
    i += static_cast<std::size_t>(__builtin_ctz(~mask));
    if (!has(p[i], kFieldChar)) return i;
    ++i;  // an HTAB inside the value
  }
#endif
  while (i < end && has(p[i], kFieldChar)) ++i;
  return i;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_ows(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Calls fn on each element of a comma-separated list, OWS-trimmed; empty elements are
// skipped as RFC 9110 §5.6.1 asks of recipients. Stops early when fn returns false.
template <class Fn>
bool for_each_element(std::string_view list, Fn&& fn) noexcept {
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty() && !fn(element)) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

Method method_from(std::string_view m) noexcept {
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::GET;
      if (m == "PUT") return Method::PUT;
      break;
    case 4:
      if (m == "HEAD") return Method::HEAD;
      if (m == "POST") return Method::POST;
      break;
    case 5:
      if (m == "PATCH") return Method::PATCH;
      if (m == "TRACE") return Method::TRACE;
      break;
    case 6:
      if (m == "DELETE") return Method::DELETE;
      break;
    case 7:
      if (m == "OPTIONS") return Method::OPTIONS;
      if (m == "CONNECT") return Method::CONNECT;
      break;
    default:
      break;
  }
  return Method::Other;
}

// uri-host [ ":" port ] (RFC 9110 §7.2 with RFC 3986 §3.2.2): an IP-literal in brackets
// or a reg-name of unreserved / pct-encoded / sub-delims. An empty value is allowed: a
// client sends "Host:" when the target has no authority (RFC 9110 §7.2).
bool valid_host(std::string_view s) noexcept {
  std::size_t i = 0;
  if (!s.empty() && s.front() == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    // IPv6address / IPvFuture: hex digits, ':', '.', and for IPvFuture unreserved/sub-delims.
    for (std::size_t k = 1; k < close; ++k) {
      const auto c = static_cast<unsigned char>(s[k]);
      if (!has(c, kRegName) && c != ':') return false;
    }
    i = close + 1;
  } else {
    for (;;) {
      while (i < s.size() && has(static_cast<unsigned char>(s[i]), kRegName)) ++i;
      // The end, ':' before the port, or a byte the check below refuses.
      if (i == s.size() || s[i] != '%') break;
      if (i + 2 >= s.size() || !has(static_cast<unsigned char>(s[i + 1]), kHexDigit) ||
          !has(static_cast<unsigned char>(s[i + 2]), kHexDigit)) {
        return false;
      }
      i += 3;
    }
  }
  if (i == s.size()) return true;
  if (s[i] != ':') return false;
  for (std::size_t k = i + 1; k < s.size(); ++k) {
    if (!is_digit(static_cast<unsigned char>(s[k]))) return false;
  }
  return true;
}

// authority-form = uri-host ":" port (RFC 9112 §3.2.3): both parts required.
bool valid_authority_form(std::string_view s) noexcept {
  const std::size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  if (s.front() == '[' && s[colon - 1] != ']') return false;  // that colon is inside the IPv6 literal
  return valid_host(s);
}

// transfer-coding = token *( OWS ";" OWS transfer-parameter ) (RFC 9112 §7). Returns the
// coding name, or an empty view if the element is malformed.
std::string_view coding_name(std::string_view element) noexcept {
  std::size_t i = 0;
  while (i < element.size() && has(static_cast<unsigned char>(element[i]), kTchar)) ++i;
  const std::string_view name = element.substr(0, i);
  while (i < element.size() && is_ows(static_cast<unsigned char>(element[i]))) ++i;
  if (i < element.size() && element[i] != ';') return {};
  return name;
}

}  // namespace

std::optional<std::string_view> RequestHead::find(std::string_view name) const noexcept {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::optional<std::string_view> RequestHead::find_list(std::string_view name, std::string& joined) const {
  std::optional<std::string_view> first;
  bool several = false;
  for (const Header& h : headers) {
    if (!iequals(h.name, name)) continue;
    if (!first) {
      first = h.value;
      continue;
    }
    if (!several) joined.assign(*first);
    several = true;
    joined.append(", ").append(h.value);
  }
  if (several) return std::string_view(joined);
  return first;
}

RequestParser::RequestParser(const Limits& limits, std::pmr::memory_resource* memory)
    : limits_(limits), headers_(memory) {
  // Offsets are stored in 32 bits; no sane head comes near that.
  limits_.max_header_bytes =
      std::min<std::size_t>(limits_.max_header_bytes, std::numeric_limits<std::uint32_t>::max());
  // Room for the usual head up front; a head with more fields grows it (up to
  // max_headers) once, and the storage is kept for the connection's later requests.
  // Sizing it at max_headers made every connection pay ~5 KiB before its first byte.
  headers_.resize(std::min<std::size_t>(limits_.max_headers, 24));
}

std::string_view RequestParser::line_so_far(std::string_view data) const noexcept {
  if (s_.line_start >= data.size()) return {};
  std::string_view line = data.substr(s_.line_start, limits_.max_request_line);
  return line.substr(0, line.find_first_of("\r\n"));
}

void RequestParser::reset() noexcept {
  s_ = Progress{};
  state_ = State::Leading;
  head_size_ = 0;
  error_ = ParseError{};
}

ParseResult RequestParser::fail(int status, std::string_view message) noexcept {
  state_ = State::Failed;
  error_ = ParseError{status, message};
  return ParseResult::Error;
}

bool RequestParser::reject(int status, std::string_view message) noexcept {
  fail(status, message);
  return false;
}

ParseResult RequestParser::suspend(State state, std::size_t pos) noexcept {
  state_ = state;
  s_.pos = pos;
  // Having scanned max_header_bytes without finishing means the head is bigger than
  // allowed; say so now rather than wait for bytes that cannot help.
  if (pos >= limits_.max_header_bytes) return fail(431, "request header section too large");
  return ParseResult::NeedMore;
}

ParseResult RequestParser::parse(std::string_view data) noexcept {
  if (data.data() != base_) rebase(data.data());
  if (state_ == State::Done) {
    assert(data.size() >= head_size_);
    materialize(data);
    return ParseResult::Complete;
  }
  if (state_ == State::Failed) return ParseResult::Error;
  assert(data.size() >= s_.pos && "parse() must be given the same bytes again, plus more");

  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  // Never look past the head limit: those bytes belong to a head that is already too big.
  const std::size_t end = std::min(data.size(), limits_.max_header_bytes);
  std::size_t i = s_.pos;
  unsigned char c = 0;

  // Resume in the state the last call stopped in; from there the code runs straight
  // through the head, token after token, and records a state only when the bytes run out
  // (suspend). A whole head in one call costs no dispatch at all between tokens.
  switch (state_) {
    case State::Leading: goto leading;
    case State::LeadingLF: goto leading_lf;
    case State::Method: goto method;
    case State::Target: goto target;
    case State::Version: goto version;
    case State::RequestLineLF: goto request_line_lf;
    case State::FieldStart: goto field_start;
    case State::Name: goto name;
    case State::ValueOws: goto value_ows;
    case State::Value: goto value;
    case State::ValueLF: goto value_lf;
    case State::FinalLF: goto final_lf;
    case State::Done:
    case State::Failed: break;
  }
  assert(false && "handled above");
  return ParseResult::Error;

leading:
  if (i == end) return suspend(State::Leading, i);
  c = p[i];
  if (c == '\n') return fail(400, "bare LF before the request line");
  if (c == '\r') {
    ++i;
    goto leading_lf;
  }
  s_.line_start = s_.tok_start = i;
  goto method;

leading_lf:
  if (i == end) return suspend(State::LeadingLF, i);
  if (p[i] != '\n') return fail(400, "bare CR before the request line");
  if (++s_.leading_lines > kMaxLeadingEmptyLines) return fail(400, "too many empty lines before the request line");
  ++i;
  goto leading;

method: {
  // "GET " is most requests' method: one compare instead of the loop and method_from.
  if (i == s_.tok_start && end - i >= 4 && limits_.max_request_line >= 4 && std::memcmp(p + i, "GET ", 4) == 0) {
    s_.method = Slice{static_cast<std::uint32_t>(i), 3};
    s_.method_kind = Method::GET;
    s_.tok_start = i += 4;
    goto target;
  }
  // Request-line limit. A method still running at it is longer than any we implement:
  // 501 (RFC 9112 §3). A target still running at it, or a line made too long by what
  // follows the target, is 414 (the target is what the client can shorten).
  const std::size_t line_limit = s_.line_start + limits_.max_request_line;
  const std::size_t stop = std::min(end, line_limit);
  while (i < stop && has(p[i], kTchar)) ++i;
  if (i == stop) {
    if (stop == line_limit) return fail(501, "method longer than any this server implements");
    return suspend(State::Method, i);
  }
  c = p[i];
  if (c != ' ') {
    if (c == '\r' || c == '\n') return fail(400, "request line has no request-target");
    return fail(400, "invalid character in method");
  }
  if (i == s_.tok_start) return fail(400, "empty method");
  s_.method = Slice{static_cast<std::uint32_t>(s_.tok_start), static_cast<std::uint32_t>(i - s_.tok_start)};
  s_.method_kind = method_from(std::string_view(data.data() + s_.tok_start, i - s_.tok_start));
  s_.tok_start = ++i;
  goto target;
}

target: {
  const std::size_t line_limit = s_.line_start + limits_.max_request_line;
  const std::size_t stop = std::min(end, line_limit);
  i = skip_target_chars(p, i, stop);
  if (i == stop) {
    if (stop == line_limit) return fail(414, "request-target too long");
    return suspend(State::Target, i);
  }
  c = p[i];
  if (c != ' ') {
    if (c == '\r' || c == '\n') return fail(400, "request line has no HTTP version");
    // RFC 9112 §3.2: a fragment is never part of a request-target (a client strips it).
    if (c == '#') return fail(400, "'#' (a fragment) in the request-target");
    return fail(400, "invalid character in request-target");
  }
  // RFC 9112 §3: exactly one SP between the parts; a second one is an empty target.
  if (i == s_.tok_start) return fail(400, "empty request-target");
  s_.target = Slice{static_cast<std::uint32_t>(s_.tok_start), static_cast<std::uint32_t>(i - s_.tok_start)};
  if (!finish_target(data)) return ParseResult::Error;
  s_.tok_start = ++i;
  goto version;
}

version:
  // Fast path for the whole "HTTP/1.x" CRLF in one piece; it decides exactly what the
  // byte-by-byte path below would.
  if (i == s_.tok_start && end - i >= 10 && std::memcmp(p + i, "HTTP/1.", 7) == 0 &&
      (p[i + 7] == '0' || p[i + 7] == '1') && p[i + 8] == '\r' && p[i + 9] == '\n') {
    if (i + 8 - s_.line_start > limits_.max_request_line) return fail(414, "request line too long");
    if (s_.pri_asterisk) return fail(400, kAsteriskNotOptions);
    s_.version_minor = p[i + 7] - '0';
    i += 10;
    goto field_start;
  }
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, then CR (RFC 9112 §2.3). Checked byte by byte
  // so a split anywhere resumes at the right place.
  for (;; ++i) {
    if (i == end) return suspend(State::Version, i);
    static constexpr std::string_view kPrefix = "HTTP/";
    const std::size_t k = i - s_.tok_start;
    c = p[i];
    bool ok = false;
    if (k < kPrefix.size()) {
      ok = c == static_cast<unsigned char>(kPrefix[k]);
    } else if (k == 5 || k == 7) {
      ok = is_digit(c);
    } else if (k == 6) {
      ok = c == '.';
    } else if (c == '\r') {
      if (i - s_.line_start > limits_.max_request_line) return fail(414, "request line too long");
      const int major = p[s_.tok_start + 5] - '0';
      const int minor = p[s_.tok_start + 7] - '0';
      if (s_.pri_asterisk && major == 2 && minor == 0)
        return fail(505, "HTTP/2 connection preface: this server speaks HTTP/1.1");
      if (major != 1) return fail(505, "HTTP version not supported");
      if (s_.pri_asterisk) return fail(400, kAsteriskNotOptions);
      // RFC 9110 §2.5: a higher minor version of a major version we implement is
      // processed as the highest minor we implement (nginx: the same).
      s_.version_minor = minor > 1 ? 1 : minor;
      ++i;
      goto request_line_lf;
    } else if (c == '\n') {
      return fail(400, "request line must end with CRLF");
    }
    if (!ok) return fail(400, "malformed HTTP version");
  }

request_line_lf:
  if (i == end) return suspend(State::RequestLineLF, i);
  if (p[i] != '\n') return fail(400, "bare CR in the request line");
  ++i;
  goto field_start;

field_start:
  if (i == end) return suspend(State::FieldStart, i);
  c = p[i];
  if (c == '\r') {
    ++i;
    goto final_lf;
  }
  if (c == '\n') return fail(400, "bare LF in the header section");
  // RFC 9112 §5.2: obs-fold; §2.2: whitespace before the first field. Both refused.
  if (is_ows(c)) return fail(400, "obs-fold (line folding) is not accepted");
  if (s_.field_count == limits_.max_headers) return fail(431, "too many header fields");
  s_.name_start = i;
  goto name;

name:
  i = skip_name_chars(p, i, end);
  if (i == end) return suspend(State::Name, i);
  c = p[i];
  if (c != ':') {
    // RFC 9112 §5.1: MUST reject whitespace between field name and colon (smuggling).
    if (is_ows(c)) return fail(400, "whitespace between header field name and colon");
    if (c == '\r' || c == '\n') return fail(400, "header field line has no colon");
    return fail(400, "invalid character in header field name");
  }
  if (i == s_.name_start) return fail(400, "empty header field name");
  s_.name_end = i++;
  goto value_ows;

value_ows:
  while (i < end && is_ows(p[i])) ++i;
  if (i == end) return suspend(State::ValueOws, i);
  s_.tok_start = i;
  goto value;

value: {
  i = skip_field_chars(p, i, end);
  if (i == end) return suspend(State::Value, i);
  c = p[i];
  if (c != '\r') {
    if (c == '\n') return fail(400, "bare LF in the header section");
    return fail(400, "invalid character in header field value");
  }
  // Trailing OWS is not part of the value (RFC 9110 §5.5); trim it once, here.
  std::size_t v_end = i;
  const std::size_t v_start = s_.tok_start;  // a local: s_ would be reloaded each round
  while (v_end > v_start && is_ows(p[v_end - 1])) --v_end;
  s_.value_end = v_end;
  ++i;
  goto value_lf;
}

value_lf:
  if (i == end) return suspend(State::ValueLF, i);
  if (p[i] != '\n') return fail(400, "bare CR in the header section");
  ++i;
  if (!finish_field(data)) return ParseResult::Error;
  goto field_start;

final_lf:
  if (i == end) return suspend(State::FinalLF, i);
  if (p[i] != '\n') return fail(400, "bare CR in the header section");
  ++i;
  if (!finish_head()) return ParseResult::Error;
  s_.pos = i;
  head_size_ = i;
  state_ = State::Done;
  materialize(data);
  return ParseResult::Complete;
}

// Classifies the request-target (RFC 9112 §3.2) and splits path and query.
bool RequestParser::finish_target(std::string_view data) noexcept {
  const std::string_view t = slice_of(data, s_.target);
  const auto at = [&](std::size_t rel, std::size_t len) {
    return Slice{static_cast<std::uint32_t>(s_.target.off + rel), static_cast<std::uint32_t>(len)};
  };
  const auto split_path_query = [&](std::size_t from) {
    const std::size_t q = find_char(t, '?', from);
    if (q == std::string_view::npos) {
      s_.path = at(from, t.size() - from);
    } else {
      s_.path = at(from, q - from);
      s_.query = at(q + 1, t.size() - q - 1);
    }
  };

  if (t.front() == '/') {
    s_.form = TargetForm::Origin;
    split_path_query(0);
  } else if (t == "*") {
    if (s_.method_kind != Method::OPTIONS) {
      // "PRI * HTTP/2.0" is the preface of a client speaking HTTP/2 from its first byte (RFC
      // 9113 §3.4): refused as a version we do not support (505) once the version says so.
      if (slice_of(data, s_.method) != "PRI") return reject(400, kAsteriskNotOptions);
      s_.pri_asterisk = true;
    }
    s_.form = TargetForm::Asterisk;
    s_.path = s_.target;
  } else if (s_.method_kind == Method::CONNECT) {
    if (!valid_authority_form(t)) {
      return reject(400, "invalid authority-form request-target");
    }
    s_.form = TargetForm::Authority;
  } else {
    std::size_t scheme_len = 0;
    if (t.size() >= 7 && iequals(t.substr(0, 7), "http://")) {
      scheme_len = 7;
    } else if (t.size() >= 8 && iequals(t.substr(0, 8), "https://")) {
      scheme_len = 8;
    } else {
      return reject(400, "invalid request-target");
    }
    const std::size_t auth_end = std::min(t.find('/', scheme_len), t.find('?', scheme_len));
    const std::size_t auth_stop = auth_end == std::string_view::npos ? t.size() : auth_end;
    const std::string_view authority = t.substr(scheme_len, auth_stop - scheme_len);
    // RFC 9110 §4.2.1: an http URI with an empty host is invalid and MUST be rejected;
    // userinfo ('@') is not in the host grammar, which also refuses it (§4.2.4).
    if (authority.empty() || !valid_host(authority)) {
      return reject(400, "invalid authority in absolute-form request-target");
    }
    s_.form = TargetForm::Absolute;
    s_.authority = at(scheme_len, authority.size());
    if (auth_stop == t.size() || t[auth_stop] == '?') s_.path_is_root = true;  // RFC 9110 §4.2.3
    if (s_.path_is_root) {
      if (auth_stop < t.size()) s_.query = at(auth_stop + 1, t.size() - auth_stop - 1);
    } else {
      split_path_query(auth_stop);
    }
  }

  // RFC 9110 §9.3.6: CONNECT names only host and port.
  if (s_.method_kind == Method::CONNECT && s_.form != TargetForm::Authority) {
    return reject(400, "CONNECT requires an authority-form request-target");
  }
  // RFC 3986 §2.1: '%' starts two hex digits. Checked in the path only: a query is the
  // application's to interpret, and raw '%' there is common ("?discount=10%").
  const std::string_view path = slice_of(data, s_.path);
  for (std::size_t pct = find_char(path, '%'); pct != std::string_view::npos; pct = find_char(path, '%', pct + 1)) {
    if (path.size() - pct < 3 || !has(static_cast<unsigned char>(path[pct + 1]), kHexDigit) ||
        !has(static_cast<unsigned char>(path[pct + 2]), kHexDigit))
      return reject(400, "malformed percent-encoding in the path");
  }
  return true;
}

bool RequestParser::finish_field(std::string_view data) noexcept {
  const std::string_view n(data.data() + s_.name_start, s_.name_end - s_.name_start);
  const std::string_view v(data.data() + s_.tok_start, s_.value_end - s_.tok_start);
  // field_count < max_headers here (checked at the start of the line), so this grows.
  if (s_.field_count == headers_.size())
    headers_.resize(std::min<std::size_t>(limits_.max_headers, headers_.size() * 2));
  headers_[s_.field_count++] = Header{n, v};

  // Dispatch on length first: most fields are none of these and cost one switch.
  switch (n.size()) {
    case 4:
      if (name_is(n, "host"))
        return on_host(v, Slice{static_cast<std::uint32_t>(s_.tok_start), static_cast<std::uint32_t>(v.size())});
      break;
    case 6:
      if (name_is(n, "expect")) on_expect(v);
      break;
    case 10:
      if (name_is(n, "connection")) on_connection(v);
      break;
    case 14:
      if (name_is(n, "content-length")) return on_content_length(v);
      break;
    case 17:
      if (name_is(n, "transfer-encoding")) return on_transfer_encoding(v);
      if (name_is(n, "if-modified-since")) s_.has_preconditions = true;
      break;
    case 8:
      if (name_is(n, "if-match")) s_.has_preconditions = true;
      break;
    case 13:
      if (name_is(n, "if-none-match")) s_.has_preconditions = true;
      break;
    case 19:
      if (name_is(n, "if-unmodified-since")) s_.has_preconditions = true;
      break;
    default:
      break;
  }
  return true;
}

// Content-Length = 1*DIGIT (RFC 9110 §8.6). A list or a repeat, even of the same value,
// is refused rather than reconciled: disagreeing parsers are how requests get smuggled.
bool RequestParser::on_content_length(std::string_view value) noexcept {
  if (s_.has_content_length) return reject(400, "duplicate Content-Length");
  if (s_.has_transfer_encoding) {
    return reject(400, "Content-Length and Transfer-Encoding both present");
  }
  if (value.empty()) return reject(400, "invalid Content-Length");
  std::uint64_t n = 0;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (!is_digit(c)) return reject(400, "invalid Content-Length");
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
      return reject(400, "Content-Length overflows");
    }
    n = n * 10 + d;
  }
  s_.has_content_length = true;
  s_.content_length = n;
  if (n > limits_.max_body) return reject(413, "request body too large");
  return true;
}

// Transfer-Encoding (RFC 9112 §6.1): codings in order, possibly over several lines. The
// only body we can frame is one whose final coding is chunked, applied once (§6.3).
bool RequestParser::on_transfer_encoding(std::string_view value) noexcept {
  if (s_.version_minor == 0) return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
  if (s_.has_content_length) {
    return reject(400, "Content-Length and Transfer-Encoding both present");
  }
  s_.has_transfer_encoding = true;
  return for_each_element(value, [this](std::string_view element) {
    const std::string_view coding = coding_name(element);
    if (coding.empty()) return reject(400, "malformed Transfer-Encoding");
    const bool chunked = iequals(coding, "chunked");
    // RFC 9112 §7.1 defines no parameters for chunked.
    if (chunked && coding.size() != element.size()) return reject(400, "parameters on the chunked transfer coding");
    // Whatever follows chunked makes it not final, which can never be undone.
    if (s_.te_chunked) {
      return reject(400, chunked ? "chunked transfer coding applied more than once"
                               : "Transfer-Encoding does not end with chunked");
    }
    if (chunked) {
      s_.te_chunked = true;
    } else {
      s_.te_other = true;
    }
    return true;
  });
}

// The last Host value a parser on this thread found valid (up to 32 bytes): a site's
// requests nearly all name the same host, and an equal value need not be checked against
// the grammar again (a compare instead of a loop over every byte). Per thread, not per
// connection: every connection would carry its 33 bytes while idle. Empty at first ("" is
// valid).
namespace {
struct ValidHostSeen {
  char bytes[32];
  std::uint8_t len = 0;
};
thread_local ValidHostSeen valid_host_seen;
}  // namespace

// RFC 9112 §3.2: exactly one Host with a valid value.
bool RequestParser::on_host(std::string_view value, Slice where) noexcept {
  if (++s_.host_count > 1) return reject(400, "more than one Host header");
  ValidHostSeen& seen = valid_host_seen;
  if (value != std::string_view(seen.bytes, seen.len)) {
    if (!valid_host(value)) return reject(400, "invalid Host header");
    if (value.size() <= sizeof seen.bytes) {
      std::memcpy(seen.bytes, value.data(), value.size());
      seen.len = static_cast<std::uint8_t>(value.size());
    }
  }
  s_.host = where;
  return true;
}

// Connection = #connection-option, case-insensitive (RFC 9110 §7.6.1, RFC 9112 §9.3).
void RequestParser::on_connection(std::string_view value) noexcept {
  for_each_element(value, [this](std::string_view option) {
    if (iequals(option, "close")) s_.conn_close = true;
    if (iequals(option, "keep-alive")) s_.conn_keep_alive = true;
    return true;
  });
}

// RFC 9110 §10.1.1: 100-continue is the only expectation defined; any other earns 417.
void RequestParser::on_expect(std::string_view value) noexcept {
  for_each_element(value, [this](std::string_view expectation) {
    if (iequals(expectation, "100-continue")) {
      s_.expect_continue = true;
    } else {
      s_.expect_other = true;
    }
    return true;
  });
}

// Checks that need the whole head, in order: framing, Host, expectations.
bool RequestParser::finish_head() noexcept {
  if (s_.has_transfer_encoding) {
    // RFC 9112 §6.3: final coding not chunked means the length cannot be determined.
    if (!s_.te_chunked) return reject(400, "Transfer-Encoding does not end with chunked");
    if (s_.te_other) return reject(501, "unsupported transfer coding");
  }
  if (s_.version_minor == 1 && s_.host_count == 0) {
    return reject(400, "missing Host header");
  }
  if (s_.expect_other) return reject(417, "unsupported expectation");
  return true;
}

void RequestParser::materialize(std::string_view data) noexcept {
  const auto view = [data](auto slice) { return slice_of(data, slice); };
  RequestHead& h = head_;
  h.method = view(s_.method);
  h.method_kind = s_.method_kind;
  h.target = view(s_.target);
  h.target_form = s_.form;
  h.path = s_.path_is_root ? std::string_view("/") : view(s_.path);
  h.query = view(s_.query);
  h.version_minor = s_.version_minor;
  h.headers = std::span<const Header>(headers_.data(), s_.field_count);
  h.body = s_.te_chunked ? BodyKind::Chunked : s_.has_content_length ? BodyKind::Length : BodyKind::None;
  h.content_length = s_.has_content_length ? s_.content_length : 0;
  // RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive".
  h.keep_alive = !s_.conn_close && (s_.version_minor == 1 || s_.conn_keep_alive);
  // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request MUST be ignored.
  h.expect_continue = s_.expect_continue && s_.version_minor == 1;
  h.has_preconditions = s_.has_preconditions;
  // RFC 9112 §3.2.2: for absolute-form the target's authority replaces Host.
  h.host = s_.form == TargetForm::Absolute ? view(s_.authority) : view(s_.host);
}

// The contract lets the connection move the head between calls; headers_ still points
// into the old bytes. Same offsets, new address. (Integer arithmetic: the old buffer may
// be gone, and its pointers must not be compared with or subtracted from new ones.)
void RequestParser::rebase(const char* data) noexcept {
  const auto old = reinterpret_cast<std::uintptr_t>(base_);
  const auto moved = [&](std::string_view v) {
    return std::string_view(data + (reinterpret_cast<std::uintptr_t>(v.data()) - old), v.size());
  };
  for (std::size_t k = 0; k < s_.field_count; ++k) {
    headers_[k] = Header{moved(headers_[k].name), moved(headers_[k].value)};
  }
  base_ = data;
}

}  // namespace hellepoll::http
