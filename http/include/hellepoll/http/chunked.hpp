// Decoder for the chunked transfer coding (RFC 9112 §7.1): a resumable state machine
// that hands back body bytes as views into the caller's input (zero-copy) and can be
// split at any byte. Extensions are checked and skipped; trailer fields are checked and
// discarded.
//
//   ChunkedDecoder dec(limits);
//   while (!in.empty()) {
//     auto step = dec.decode(in);
//     in.remove_prefix(step.consumed);
//     switch (step.state) {
//       case ChunkedDecoder::State::Data: deliver(step.data); break;  // then call again
//       case ChunkedDecoder::State::NeedMore: read more (all of `in` was consumed); break;
//       case ChunkedDecoder::State::Done: `in` now starts at the next request; break;
//       case ChunkedDecoder::State::Error: answer dec.error().status; break;
//     }
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hellepoll/http/parse_error.hpp"

namespace hellepoll::http {

class ChunkedDecoder {
 public:
  enum class State : std::uint8_t {
    NeedMore,  // all input consumed, body not finished
    Data,      // `data` holds body bytes; call again with the rest
    Done,      // last chunk and trailer section read; `consumed` stops right after them
    Error,     // see error()
  };

  struct Step {
    std::size_t consumed = 0;  // bytes of the input used, framing and data alike
    std::string_view data;     // body bytes inside the input; non-empty iff state == Data
    State state = State::NeedMore;
  };

  explicit ChunkedDecoder(const Limits& limits) noexcept;

  void reset() noexcept;

  // Consumes framing bytes and returns at the first run of body bytes, at the end of the
  // input, or at the end of the body. Framing state is kept inside the decoder, so the
  // caller never needs to hand back bytes it was told were consumed. After Done or Error
  // further calls consume nothing and repeat the state.
  Step decode(std::string_view in) noexcept;

  // Valid after State::Error; status is 400, 413 or 431.
  const ParseError& error() const noexcept { return error_; }
  // Body bytes returned so far.
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }
  // The sum of the chunk sizes read so far: the body's length once the current chunk's
  // data is all in (never more than Limits::max_body).
  std::uint64_t declared_bytes() const noexcept { return declared_; }
  // The size of the last chunk whose size line was read (its data may still be coming).
  std::uint64_t chunk_size() const noexcept { return size_; }
  bool done() const noexcept { return phase_ == Phase::Done; }

 private:
  enum class Phase : std::uint8_t {
    SizeStart,        // first HEXDIG of chunk-size
    Size,
    SizeEnd,          // byte right after the last HEXDIG
    ExtBwsSemi,       // BWS, must be followed by ';'
    ExtBwsName,       // after ';', BWS before chunk-ext-name
    ExtName,
    ExtBwsEq,         // BWS after a name, before '=' or ';'
    ExtBwsValue,      // after '=', BWS before chunk-ext-val
    ExtToken,
    ExtQuoted,
    ExtQuotedEscape,
    ExtAfterValue,    // after a closing quote
    SizeLF,
    Data,
    DataCR,
    DataLF,
    TrailerStart,     // start of a trailer field line or of the final CRLF
    TrailerName,
    TrailerValue,
    TrailerLF,
    FinalLF,
    Done,
    Failed,
  };

  bool step(unsigned char c) noexcept;  // one framing byte; false on error
  bool step_extension(unsigned char c) noexcept;
  bool step_trailer(unsigned char c) noexcept;
  bool end_of_size_line() noexcept;
  bool fail(int status, std::string_view message) noexcept;

  Limits limits_;
  Phase phase_ = Phase::SizeStart;
  std::uint64_t size_ = 0;       // current chunk-size
  std::uint64_t remaining_ = 0;  // data bytes left in the current chunk
  std::uint64_t declared_ = 0;   // sum of chunk sizes so far, held to max_body
  std::uint64_t body_bytes_ = 0;
  std::uint64_t ext_bytes_ = 0;    // on every chunk-size line so far: max_chunk_ext + declared_ at most
  std::size_t trailer_bytes_ = 0;  // in the trailer section
  unsigned size_digits_ = 0;       // of the current chunk-size; past 16 (leading zeros) they count as ext_bytes_
  ParseError error_;
};

}  // namespace hellepoll::http
