// Range requests (RFC 9110 §14): parsing the Range field against a representation's
// length, and the framing of a multipart/byteranges body (§14.6).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hellepoll::http {

// One satisfiable byte range, both ends inclusive as in Content-Range (§14.4).
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;

  std::uint64_t length() const noexcept { return last - first + 1; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// The outcome of parse_range. Holds up to max_ranges ranges inline: no allocation.
class RangeSpec {
 public:
  // More range-specs than this and the whole Range field is ignored (200 with the full
  // body), as nginx's max_ranges and Apache's MaxRanges do. §14.2 lets a server ignore
  // Range at any time, and a full 200 is always a correct answer, while 416 would claim
  // the ranges lie outside the representation, which is false.
  static constexpr std::size_t max_ranges = 32;

  enum class Kind {
    ignore,         // serve the whole representation with 200
    unsatisfiable,  // 416 with "Content-Range: bytes */<size>"
    satisfiable,    // 206: one range as is, several as multipart/byteranges
  };

  RangeSpec() = default;
  explicit RangeSpec(Kind k) noexcept : kind_(k) {}

  Kind kind() const noexcept { return kind_; }
  std::span<const ByteRange> ranges() const noexcept { return {ranges_.data(), count_}; }

 private:
  friend RangeSpec parse_range(std::string_view header_value, std::uint64_t size) noexcept;
  void add(ByteRange r) noexcept;
  void coalesce_if_overlapping() noexcept;

  Kind kind_ = Kind::ignore;
  std::size_t count_ = 0;
  std::array<ByteRange, max_ranges> ranges_{};
};

// Evaluates a Range field value (empty when the field is absent) against a representation
// of `size` bytes (§14.1.1, §14.2):
// - ignore: no field, a unit other than "bytes" (compared case-insensitively), any
//   syntactically invalid range-spec (including "5-2", whose last-pos < first-pos), or more
//   than RangeSpec::max_ranges range-specs. nginx, too, answers these with the full 200.
//   Also for size 0 when a suffix-range "-N" with N > 0 is present: §14.1.1 calls that
//   satisfiable, yet no byte range of an empty body can be written, so the full (empty) 200.
// - unsatisfiable: no range-spec is satisfiable: every first-pos >= size, or "-0".
// - satisfiable: each satisfiable range, clamped to the size ("500-" and last-pos past the
//   end run to size-1, "-500" is the last 500 bytes or the whole), unsatisfiable ones
//   dropped. If any two ranges overlap or touch they are all merged and sorted
//   ascending (§14.2 allows coalescing "regardless of the order"); this also caps the bytes
//   sent at the size, so "bytes=0-,0-,0-..." cannot amplify. Otherwise the request's
//   order is kept, as §14.2 asks.
// Numbers of any length are accepted; those beyond 2^64-1 saturate, which gives the right
// answer (such a first-pos is past any end, such a last-pos or suffix means "all").
// Empty list elements and OWS around commas are accepted (§5.6.1.2).
RangeSpec parse_range(std::string_view header_value, std::uint64_t size) noexcept;

// "bytes <first>-<last>/<size>" for Content-Range (§14.4). The buffer must outlive the view.
inline constexpr std::size_t content_range_max = 6 + 20 + 1 + 20 + 1 + 20;
using ContentRangeBuffer = std::array<char, content_range_max>;
std::string_view format_content_range(ContentRangeBuffer& buf, ByteRange r, std::uint64_t size) noexcept;
// "bytes */<size>", for 416 (§15.5.17).
std::string_view format_unsatisfied_range(ContentRangeBuffer& buf, std::uint64_t size) noexcept;

// A multipart boundary derived from `seed` (pass something unpredictable, e.g. a random
// number per response): "hellepoll-" and 16 hex digits, RFC 2046 §5.1.1 bchars only. A
// body could contain the boundary by chance, but guessing it needs the seed.
std::string make_boundary(std::uint64_t seed);

// The text before one part's bytes:
// "\r\n--<boundary>\r\nContent-Type: <type>\r\nContent-Range: bytes a-b/size\r\n\r\n".
// The leading CRLF belongs to the delimiter (RFC 2046 §5.1.1); before the first part it
// makes an empty preamble, as nginx sends. Content-Type is left out when `content_type`
// is empty (§14.6 wants it only if the whole would have had one).
std::string multipart_part_header(std::string_view boundary, std::string_view content_type, ByteRange r,
                                  std::uint64_t size);
// The exact length of multipart_part_header's result, computed without building it.
std::uint64_t multipart_part_header_size(std::string_view boundary, std::string_view content_type, ByteRange r,
                                         std::uint64_t size) noexcept;
// The close delimiter after the last part: "\r\n--<boundary>--\r\n".
std::string multipart_close(std::string_view boundary);
// The exact Content-Length of a multipart/byteranges body: every part's header and bytes,
// then the close delimiter.
std::uint64_t multipart_body_size(std::span<const ByteRange> ranges, std::string_view boundary,
                                  std::string_view content_type, std::uint64_t size) noexcept;

}  // namespace hellepoll::http
