// Chunked body decoder. Data runs are returned as views in one step; framing (sizes,
// extensions, CRLFs, trailers) goes through a per-byte switch, which is cheap because
// framing is a handful of bytes per chunk.
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-size   = 1*HEXDIG
//   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val = token / quoted-string                         (RFC 9112 §7.1, §7.1.1)
#include "hellepoll/http/chunked.hpp"

#include <algorithm>

namespace hellepoll::http {
namespace {

using detail::has;
using detail::is_ows;
using detail::kFieldChar;
using detail::kHexDigit;
using detail::kQdtext;
using detail::kTchar;

constexpr unsigned hex_value(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

ChunkedDecoder::ChunkedDecoder(const Limits& limits) noexcept : limits_(limits) {}

void ChunkedDecoder::reset() noexcept {
  const Limits limits = limits_;
  *this = ChunkedDecoder(limits);
}

bool ChunkedDecoder::fail(int status, std::string_view message) noexcept {
  phase_ = Phase::Failed;
  error_ = ParseError{status, message};
  return false;
}

ChunkedDecoder::Step ChunkedDecoder::decode(std::string_view in) noexcept {
  if (phase_ == Phase::Done) return Step{0, {}, State::Done};
  if (phase_ == Phase::Failed) return Step{0, {}, State::Error};

  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t i = 0;
  while (i < in.size()) {
    if (phase_ == Phase::Data) {
      const auto take =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
      remaining_ -= take;
      body_bytes_ += take;
      if (remaining_ == 0) phase_ = Phase::DataCR;
      return Step{i + take, in.substr(i, take), State::Data};
    }
    if (!step(p[i++])) return Step{i, {}, State::Error};
    if (phase_ == Phase::Done) return Step{i, {}, State::Done};
  }
  return Step{i, {}, State::NeedMore};
}

bool ChunkedDecoder::step(unsigned char c) noexcept {
  switch (phase_) {
    case Phase::SizeStart:
      // No leading whitespace, sign or "0x": the size is 1*HEXDIG and nothing else.
      if (!has(c, kHexDigit)) return fail(400, "invalid chunk size");
      size_ = hex_value(c);
      size_digits_ = 1;
      phase_ = Phase::Size;
      return true;

    case Phase::Size:
      if (has(c, kHexDigit)) {
        // chunk-size is 1*HEXDIG, leading zeros included: refuse only the digit that would
        // overflow a uint64_t (a 17th significant one), never wrap around.
        if (size_ >> 60) return fail(400, "chunk size too large");
        // Leading zeros never make a size too large, and neither max_body nor the
        // extension budget saw them: an endless run of '0' was a body without end. Digits
        // past the 16 a size may need are framing, counted with the extensions.
        if (++size_digits_ > 16 && ++ext_bytes_ > limits_.max_chunk_ext + declared_)
          return fail(400, "chunk size line too long (leading zeros)");
        size_ = size_ * 16 + hex_value(c);
        return true;
      }
      // The size is known: refuse an oversized body now, before any of its data is read.
      if (size_ > limits_.max_body - declared_) return fail(413, "request body too large");
      declared_ += size_;
      phase_ = Phase::SizeEnd;
      return step(c);

    case Phase::SizeLF:
      if (c != '\n') return fail(400, "bare CR in chunk size line");
      return end_of_size_line();

    case Phase::Data:
      return false;  // unreachable: decode() hands data out without stepping

    case Phase::DataCR:
      if (c != '\r') return fail(400, "missing CRLF after chunk data");
      phase_ = Phase::DataLF;
      return true;

    case Phase::DataLF:
      if (c != '\n') return fail(400, "missing CRLF after chunk data");
      phase_ = Phase::SizeStart;
      return true;

    case Phase::TrailerStart:
    case Phase::TrailerName:
    case Phase::TrailerValue:
    case Phase::TrailerLF:
    case Phase::FinalLF:
      return step_trailer(c);

    case Phase::Done:
    case Phase::Failed:
      return false;

    default:
      return step_extension(c);
  }
}

// Everything between the size digits and the CR of the size line. Extensions carry
// nothing we use, but they are parsed to the grammar so no odd byte slips through.
bool ChunkedDecoder::step_extension(unsigned char c) noexcept {
  if (c == '\n') return fail(400, "bare LF in chunk size line");
  // declared_ already holds this line's chunk size.
  if (c != '\r' && ++ext_bytes_ > limits_.max_chunk_ext + declared_) {
    return fail(400, "chunk extensions too long");
  }
  const bool ends_value = c == '\r' || c == ';' || is_ows(c);
  const auto after_value = [&] {
    // The states where an extension may end: CR, ';' for the next one, or BWS before ';'.
    if (c == '\r') {
      phase_ = Phase::SizeLF;
    } else if (c == ';') {
      phase_ = Phase::ExtBwsName;
    } else {
      phase_ = Phase::ExtBwsSemi;
    }
    return true;
  };

  switch (phase_) {
    case Phase::SizeEnd:
      if (ends_value) return after_value();
      return fail(400, "invalid chunk size");

    case Phase::ExtBwsSemi:
      if (is_ows(c)) return true;
      if (c == ';') {
        phase_ = Phase::ExtBwsName;
        return true;
      }
      return fail(400, "invalid chunk extension");

    case Phase::ExtBwsName:
      if (is_ows(c)) return true;
      if (has(c, kTchar)) {
        phase_ = Phase::ExtName;
        return true;
      }
      return fail(400, "invalid chunk extension name");

    case Phase::ExtName:
      if (has(c, kTchar)) return true;
      if (c == '=') {
        phase_ = Phase::ExtBwsValue;
        return true;
      }
      if (is_ows(c)) {
        phase_ = Phase::ExtBwsEq;
        return true;
      }
      if (ends_value) return after_value();
      return fail(400, "invalid chunk extension name");

    case Phase::ExtBwsEq:
      if (is_ows(c)) return true;
      if (c == '=') {
        phase_ = Phase::ExtBwsValue;
        return true;
      }
      if (c == ';') return after_value();
      return fail(400, "invalid chunk extension");

    case Phase::ExtBwsValue:
      if (is_ows(c)) return true;
      if (c == '"') {
        phase_ = Phase::ExtQuoted;
        return true;
      }
      if (has(c, kTchar)) {
        phase_ = Phase::ExtToken;
        return true;
      }
      return fail(400, "invalid chunk extension value");

    case Phase::ExtToken:
      if (has(c, kTchar)) return true;
      if (ends_value) return after_value();
      return fail(400, "invalid chunk extension value");

    case Phase::ExtQuoted:
      if (c == '"') {
        phase_ = Phase::ExtAfterValue;
        return true;
      }
      if (c == '\\') {
        phase_ = Phase::ExtQuotedEscape;
        return true;
      }
      if (has(c, kQdtext)) return true;
      return fail(400, "invalid quoted chunk extension value");

    case Phase::ExtQuotedEscape:
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ), RFC 9110 §5.6.4
      if (has(c, kFieldChar)) {
        phase_ = Phase::ExtQuoted;
        return true;
      }
      return fail(400, "invalid quoted chunk extension value");

    case Phase::ExtAfterValue:
      if (ends_value) return after_value();
      return fail(400, "invalid chunk extension");

    default:
      return fail(400, "invalid chunk size line");
  }
}

bool ChunkedDecoder::end_of_size_line() noexcept {
  if (size_ == 0) {
    trailer_bytes_ = 0;
    phase_ = Phase::TrailerStart;
  } else {
    remaining_ = size_;
    phase_ = Phase::Data;
  }
  return true;
}

// trailer-section = *( field-line CRLF ), then the final CRLF (RFC 9112 §7.1.2). Fields
// are checked like header fields and dropped: nothing here may change the framing.
bool ChunkedDecoder::step_trailer(unsigned char c) noexcept {
  if (++trailer_bytes_ > limits_.max_trailer_bytes) return fail(431, "trailer section too large");

  switch (phase_) {
    case Phase::TrailerStart:
      if (c == '\r') {
        phase_ = Phase::FinalLF;
        return true;
      }
      if (c == '\n') return fail(400, "bare LF in trailer section");
      if (is_ows(c)) return fail(400, "obs-fold (line folding) is not accepted");
      if (c == ':') return fail(400, "empty trailer field name");
      if (!has(c, kTchar)) return fail(400, "invalid character in trailer field name");
      phase_ = Phase::TrailerName;
      return true;

    case Phase::TrailerName:
      if (has(c, kTchar)) return true;
      if (c == ':') {
        phase_ = Phase::TrailerValue;
        return true;
      }
      if (is_ows(c)) return fail(400, "whitespace between trailer field name and colon");
      if (c == '\r' || c == '\n') return fail(400, "trailer field line has no colon");
      return fail(400, "invalid character in trailer field name");

    case Phase::TrailerValue:
      if (has(c, kFieldChar)) return true;
      if (c == '\r') {
        phase_ = Phase::TrailerLF;
        return true;
      }
      if (c == '\n') return fail(400, "bare LF in trailer section");
      return fail(400, "invalid character in trailer field value");

    case Phase::TrailerLF:
      if (c != '\n') return fail(400, "bare CR in trailer section");
      phase_ = Phase::TrailerStart;
      return true;

    case Phase::FinalLF:
      if (c != '\n') return fail(400, "bare CR in trailer section");
      phase_ = Phase::Done;
      return true;

    default:
      return fail(400, "invalid trailer section");
  }
}

}  // namespace hellepoll::http
