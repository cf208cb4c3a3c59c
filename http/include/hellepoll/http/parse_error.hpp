// What the HTTP/1.1 request parser and the chunked body decoder share: the size limits
// they enforce, the error they report (a status code and a short static sentence), and
// the RFC 9110 character classes both scan with.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hellepoll::http {

// Every limit counts bytes as they arrive on the wire. The parser copies these at
// construction, so a Limits passed in may be a temporary. http::Server refuses the values
// that would refuse every request (the "at least" rules); the parser takes any.
struct Limits {
  std::size_t max_request_line = 8192;    // request-line without its CRLF; over it: 414/400. At least 1
  // Whole head, leading empty lines to final CRLF: 431. At least max_request_line (the head
  // holds the request line).
  std::size_t max_header_bytes = 65536;
  std::size_t max_headers = 100;          // field lines in the head: 431. At least 1 (Host)
  std::uint64_t max_body = 1024 * 1024;   // Content-Length, or sum of chunk sizes: 413
  // Chunk extensions carry nothing we use. Counted over all chunk-size lines of a body,
  // which may carry this many more extension bytes than data bytes: a signature on every
  // 64 KiB chunk passes, while 1-byte chunks cannot each bring kilobytes of them (RFC 9112
  // §7.1.1; Node's CVE-2024-22019).
  std::size_t max_chunk_ext = 4096;       // extension bytes in one body beyond its size: 400
  std::size_t max_trailer_bytes = 8192;   // trailer section incl. its final CRLF: 431. At least 2
};

// Why a request was refused. `message` always points at a static string literal, so it
// stays valid after the parser is reset or destroyed.
struct ParseError {
  int status = 0;
  std::string_view message;
};

namespace detail {

// Character classes as bits of one 256-entry table, so each hot loop is a load and a test.
inline constexpr std::uint8_t kTchar = 1U << 0;      // token, RFC 9110 §5.6.2
inline constexpr std::uint8_t kTargetChar = 1U << 1;  // VCHAR (0x21-0x7E) but '#': request-target, RFC 9112 §3.2
inline constexpr std::uint8_t kFieldChar = 1U << 2;  // VCHAR / obs-text / SP / HTAB, RFC 9110 §5.5
inline constexpr std::uint8_t kHexDigit = 1U << 3;   // HEXDIG, RFC 5234 B.1
inline constexpr std::uint8_t kRegName = 1U << 4;    // unreserved / sub-delims, RFC 3986 §3.2.2
inline constexpr std::uint8_t kQdtext = 1U << 5;     // quoted-string body, RFC 9110 §5.6.4

consteval std::array<std::uint8_t, 256> make_char_table() {
  std::array<std::uint8_t, 256> t{};
  constexpr std::string_view tchar_punct = "!#$%&'*+-.^_`|~";
  constexpr std::string_view unreserved_punct = "-._~";
  constexpr std::string_view sub_delims = "!$&'()*+,;=";
  for (int c = 0; c < 256; ++c) {
    std::uint8_t bits = 0;
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    const bool digit = c >= '0' && c <= '9';
    const char ch = static_cast<char>(c);
    if (alpha || digit || tchar_punct.find(ch) != std::string_view::npos) bits |= kTchar;
    if (c >= 0x21 && c <= 0x7E && c != '#') bits |= kTargetChar;  // a fragment is never sent
    if ((c >= 0x21 && c <= 0x7E) || c >= 0x80 || c == ' ' || c == '\t') bits |= kFieldChar;
    if (digit || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f')) bits |= kHexDigit;
    if (alpha || digit || unreserved_punct.find(ch) != std::string_view::npos ||
        sub_delims.find(ch) != std::string_view::npos) {
      bits |= kRegName;
    }
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E) ||
        c >= 0x80) {
      bits |= kQdtext;
    }
    t[static_cast<std::size_t>(c)] = bits;
  }
  return t;
}

inline constexpr std::array<std::uint8_t, 256> kCharTable = make_char_table();

constexpr bool has(unsigned char c, std::uint8_t cls) noexcept { return (kCharTable[c] & cls) != 0; }
constexpr bool is_ows(unsigned char c) noexcept { return c == ' ' || c == '\t'; }

// ASCII case-insensitive equality: field names and the like (RFC 9110 §5.1).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  constexpr auto lower = [](unsigned char c) { return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + ('a' - 'A')) : c; };
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace detail
}  // namespace hellepoll::http
