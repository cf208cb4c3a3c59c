// The chunked decoder. Byte 0: bit 0 the mode, the rest a step of 1-9 bytes.
// Mode 0, the rest of the input is a body as received. Checks:
//  - fed all at once and `step` bytes at a time, the same outcome, body bytes, status, and on
//    Done the same end: a split must never change where a body ends (smuggling);
//  - every step: consumed within what it was given, data iff Data and inside the bytes
//    consumed, NeedMore only once all is consumed; Done and Error are sticky and consume
//    nothing more; body_bytes() is the body, declared_bytes() within max_body and on Done
//    the body's length;
//  - against a reference decoder of RFC 9112 §7.1's grammar, written differently (the whole
//    input at once) and with no budget for extensions or trailers: with those budgets out of
//    reach, the same state, body, status (400 grammar, 413 body), and end; with the real
//    ones, the same unless a budget ran out first (400 or 431, on a prefix of the body).
// Mode 1, the rest describes chunks (sizes, bytes, leading zeros, valid extensions, trailers):
// their encoding, followed by the next request, decodes (budgets out of reach) to Done with
// the same body, and stops exactly at the end of the encoding, as the reference does.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "check.hpp"
#include "hellepoll/http/chunked.hpp"

using namespace hellepoll::http;

namespace {
using State = ChunkedDecoder::State;

struct Decoded {
  State state = State::NeedMore;
  std::string body;
  std::size_t consumed = 0;  // on Done
  int status = 0;            // on Error
};

Decoded run(std::string_view in, std::size_t step, const Limits& limits) {
  ChunkedDecoder d(limits);
  Decoded out;
  std::size_t fed = 0;  // bytes made available so far
  std::size_t pos = 0;  // bytes consumed
  while (true) {
    fed = step == 0 ? in.size() : std::min(in.size(), fed + step);
    const std::string_view avail = in.substr(pos, fed - pos);
    const auto s = d.decode(avail);
    CHECK(s.consumed <= avail.size());
    CHECK((s.state == State::Data) == !s.data.empty());
    if (s.state == State::Data)
      CHECK(s.data.data() >= avail.data() && s.data.data() + s.data.size() <= avail.data() + s.consumed);
    pos += s.consumed;
    if (s.state == State::Data) {
      out.body.append(s.data);
      continue;
    }
    if (s.state == State::NeedMore) {
      CHECK(pos == fed);  // NeedMore consumes everything it was given
      if (fed == in.size()) break;
      continue;
    }
    out.state = s.state;
    if (s.state == State::Error) out.status = d.error().status;
    const auto again = d.decode(in.substr(pos));
    CHECK(again.state == s.state && again.consumed == 0);
    break;
  }
  if (out.state == State::Done) out.consumed = pos;
  CHECK(d.body_bytes() == out.body.size());
  CHECK(d.declared_bytes() <= limits.max_body);
  if (out.state == State::Done) CHECK(d.done() && d.declared_bytes() == out.body.size());
  return out;
}

bool same(const Decoded& a, const Decoded& b) {
  return a.state == b.state && a.body == b.body && a.consumed == b.consumed && a.status == b.status;
}

// Character classes, RFC 9110 §5.6.2, §5.5, §5.6.4. -1 is the end of the input.
bool is_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_tchar(int c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c > 0 && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos);
}
bool is_ows(int c) { return c == ' ' || c == '\t'; }
bool is_field_char(int c) { return (c > 0x20 && c != 0x7f) || is_ows(c); }
bool is_qdtext(int c) { return is_field_char(c) && c != '"' && c != '\\'; }

// The reference: the grammar read straight through the whole input. Each rule stops at the
// first byte it cannot take; when that is past the end, the body is not wrong but unfinished.
class Reference {
 public:
  Reference(std::string_view in, std::uint64_t max_body) : in_(in), max_body_(max_body) {}

  Decoded decode() {
    Decoded out;
    if (chunked_body(out.body)) {
      out.state = State::Done;
      out.consumed = pos_;
    } else if (too_large_ || pos_ < in_.size()) {
      out.state = State::Error;
      out.status = too_large_ ? 413 : 400;
    }
    return out;
  }

 private:
  int peek() const { return pos_ < in_.size() ? static_cast<unsigned char>(in_[pos_]) : -1; }
  bool eat(char c) {
    if (peek() != static_cast<unsigned char>(c)) return false;
    ++pos_;
    return true;
  }
  bool eat_one(bool (*in_class)(int)) {
    if (!in_class(peek())) return false;
    ++pos_;
    return true;
  }
  void eat_all(bool (*in_class)(int)) {
    while (eat_one(in_class)) {
    }
  }
  bool crlf() { return eat('\r') && eat('\n'); }

  // chunked-body = *chunk last-chunk trailer-section CRLF
  bool chunked_body(std::string& body) {
    std::uint64_t declared = 0;
    for (;;) {
      // chunk-size = 1*HEXDIG: a 17th significant digit is 400, more than max_body 413.
      if (!is_hex(peek())) return false;
      std::uint64_t size = 0;
      while (is_hex(peek())) {
        if (size >> 60) return false;
        const char c = in_[pos_++];
        size = size * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
      }
      if (peek() != -1 && size > max_body_ - declared) {
        too_large_ = true;
        return false;
      }
      declared += size;
      if (!extensions() || !crlf()) return false;
      if (size == 0) break;
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(size, in_.size() - pos_));
      body.append(in_.substr(pos_, n));
      pos_ += n;
      if (n < size || !crlf()) return false;
    }
    // trailer-section = *( field-name ":" field-value CRLF )
    while (!eat('\r')) {
      if (!eat_one(is_tchar)) return false;
      eat_all(is_tchar);
      if (!eat(':')) return false;
      eat_all(is_field_char);
      if (!crlf()) return false;
    }
    return eat('\n');
  }

  // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), up to
  // the CR, which no BWS may precede.
  bool extensions() {
    for (;;) {
      const std::size_t start = pos_;
      eat_all(is_ows);
      if (peek() == '\r' && pos_ == start) return true;
      if (!eat(';')) return false;
      eat_all(is_ows);
      if (!eat_one(is_tchar)) return false;
      eat_all(is_tchar);
      const std::size_t name_end = pos_;
      eat_all(is_ows);
      if (!eat('=')) {
        pos_ = name_end;  // no value: the BWS belongs to what follows
        continue;
      }
      eat_all(is_ows);
      if (eat('"')) {
        while (!eat('"')) {
          if (eat('\\') ? !eat_one(is_field_char) : !eat_one(is_qdtext)) return false;
        }
      } else {
        if (!eat_one(is_tchar)) return false;
        eat_all(is_tchar);
      }
    }
  }

  std::string_view in_;
  std::uint64_t max_body_;
  std::size_t pos_ = 0;
  bool too_large_ = false;
};

// Mode 1: a valid chunked body made from the fuzzer's bytes, and the body it carries.
struct Source {
  std::string_view bytes;
  unsigned next() {
    if (bytes.empty()) return 0;
    const auto c = static_cast<unsigned char>(bytes.front());
    bytes.remove_prefix(1);
    return c;
  }
};

std::string encode(Source& src, std::string& body) {
  static constexpr std::string_view tchars = "abcXYZ09!#$%&'*+-.^_`|~";
  std::string enc;
  for (int chunks = 0; !src.bytes.empty() && chunks < 64; ++chunks) {
    const unsigned size = src.next() % 40 + 1, style = src.next();
    if (style & 2) enc.append((style >> 4) % 20, '0');  // leading zeros
    char hex[16];
    std::snprintf(hex, sizeof hex, (style & 1) ? "%x" : "%X", size);
    enc += hex;
    for (unsigned e = 0; e < ((style >> 2) & 3); ++e) {
      const unsigned k = src.next();
      enc.append(k & 1 ? " ; " : ";").append(1 + k % 5, tchars[(k >> 3) % tchars.size()]);
      if (k & 2) {
        enc.append(k & 4 ? " = " : "=");
        if (k & 0x80) {
          enc += "\"a \\\" \\\\ \x80\t,;=b\"";
        } else {
          enc.append(1 + k % 3, tchars[(k >> 2) % tchars.size()]);
        }
      }
    }
    enc += "\r\n";
    const std::size_t data = enc.size();
    for (unsigned k = 0; k < size; ++k) enc.push_back(static_cast<char>(src.next()));
    body.append(enc, data);
    enc += "\r\n";
  }
  const unsigned last = src.next();
  enc.append(last % 3, '0').append("0");
  if (last & 8) enc += ";last=\"x\"";
  enc += "\r\n";
  for (unsigned t = 0; t < (last >> 5) % 4; ++t) enc += t & 1 ? "X-T:\r\n" : "Trailer-Sum: \t abc \x90 \r\n";
  enc += "\r\n";
  return enc;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t step = 1 + (data[0] >> 1) % 9;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  Limits limits;  // small, so the fuzzer meets them
  limits.max_body = 1 << 16;
  limits.max_chunk_ext = limits.max_trailer_bytes = 100;
  Limits unbounded = limits;  // no budget for extensions and trailers, as the reference
  unbounded.max_chunk_ext = unbounded.max_trailer_bytes = std::size_t{1} << 40;

  if ((data[0] & 1) == 0) {
    const Decoded a = run(rest, 0, limits);
    CHECK(same(run(rest, step, limits), a));
    const Decoded u = run(rest, step, unbounded), r = Reference(rest, limits.max_body).decode();
    if (!same(u, r))
      std::fprintf(stderr, "decoder: state %d status %d body %zu end %zu; reference: state %d status %d body %zu end %zu\n",
                   static_cast<int>(u.state), u.status, u.body.size(), u.consumed, static_cast<int>(r.state), r.status,
                   r.body.size(), r.consumed);
    CHECK(same(u, r));
    if (!same(a, u)) CHECK(a.state == State::Error && (a.status == 400 || a.status == 431) && u.body.starts_with(a.body));
  } else {
    Source src{rest};
    std::string body;
    const std::string enc = encode(src, body);
    const std::string in = enc + "GET / HTTP/1.1\r\n";
    const Decoded a = run(in, step, unbounded);  // 64 chunks of extensions may pass the real budget
    if (a.state != State::Done) std::fprintf(stderr, "round trip: state %d status %d\n", static_cast<int>(a.state), a.status);
    CHECK(a.state == State::Done && a.body == body && a.consumed == enc.size());
    CHECK(same(Reference(in, limits.max_body).decode(), a));
  }
  return 0;
}
