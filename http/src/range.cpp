#include "hellepoll/http/range.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <utility>

namespace hellepoll::http {
namespace {

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// The range unit is a token, compared case-insensitively (§14.1).
constexpr bool is_bytes_unit(std::string_view unit) noexcept {
  constexpr std::string_view bytes = "bytes";
  if (unit.size() != bytes.size()) return false;
  for (std::size_t i = 0; i < unit.size(); ++i) {
    if ((unit[i] | 0x20) != bytes[i]) return false;
  }
  return true;
}

// 1*DIGIT, saturating at 2^64-1 instead of overflowing; nullopt if not all digits.
constexpr std::optional<std::uint64_t> parse_number(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    auto d = static_cast<std::uint64_t>(c - '0');
    v = v > (saturated - d) / 10 ? saturated : v * 10 + d;
  }
  return v;
}

// One range-spec as written (§14.1.1), before it meets the representation's size.
struct RawSpec {
  bool suffix = false;          // "-N": the last N bytes, N in `first`
  std::uint64_t first = 0;
  std::uint64_t last = saturated;  // absent last-pos ("500-") means to the end
};

// int-range / suffix-range; nullopt for anything else, including last-pos < first-pos,
// which §14.1.1 calls invalid. other-range has no meaning for the bytes unit.
constexpr std::optional<RawSpec> parse_spec(std::string_view s) noexcept {
  auto dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  RawSpec spec;
  if (dash == 0) {
    auto n = parse_number(s.substr(1));
    if (!n) return std::nullopt;
    spec.suffix = true;
    spec.first = *n;
    return spec;
  }
  auto first = parse_number(s.substr(0, dash));
  if (!first) return std::nullopt;
  spec.first = *first;
  if (dash + 1 < s.size()) {
    auto last = parse_number(s.substr(dash + 1));
    if (!last || *last < *first) return std::nullopt;
    spec.last = *last;
  }
  return spec;
}

std::size_t decimal_digits(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

char* append(char* out, std::string_view s) noexcept { return std::copy(s.begin(), s.end(), out); }

char* append(char* out, std::uint64_t v) noexcept {
  // content_range_max leaves room for 20 digits, the most a uint64_t has.
  return std::to_chars(out, out + 20, v).ptr;
}

}  // namespace

void RangeSpec::add(ByteRange r) noexcept {
  ranges_[count_++] = r;
  kind_ = Kind::satisfiable;
}

void RangeSpec::coalesce_if_overlapping() noexcept {
  std::array<ByteRange, max_ranges> sorted = ranges_;
  auto view = std::span(sorted).first(count_);
  std::ranges::sort(view, {}, &ByteRange::first);
  // last <= size-1 < 2^64-1, so last + 1 cannot wrap.
  auto touching = [](const ByteRange& a, const ByteRange& b) { return b.first <= a.last + 1; };
  if (std::ranges::adjacent_find(view, touching) == view.end()) return;  // keep the client's order
  std::array<ByteRange, max_ranges> merged;
  std::size_t m = 0;
  for (const ByteRange& r : view) {
    if (m > 0 && touching(merged[m - 1], r)) {
      merged[m - 1].last = std::max(merged[m - 1].last, r.last);
    } else {
      merged[m++] = r;
    }
  }
  // Each merged range goes where its first member was asked for, the others keep their
  // places (RFC 9110 §15.3.7.2: the parts in the order of the range-specs, less the ones
  // coalesced into others). At most 32 ranges: a linear search is fine.
  std::array<bool, max_ranges> sent{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    std::size_t j = 0;
    while (ranges_[i].first > merged[j].last) ++j;
    if (!std::exchange(sent[j], true)) ranges_[n++] = merged[j];  // n <= i: ranges_[i] was read
  }
  count_ = n;
}

RangeSpec parse_range(std::string_view header_value, std::uint64_t size) noexcept {
  using Kind = RangeSpec::Kind;
  std::string_view value = trim_ows(header_value);
  auto eq = value.find('=');
  if (eq == std::string_view::npos || !is_bytes_unit(value.substr(0, eq))) return RangeSpec(Kind::ignore);

  RangeSpec out(Kind::unsatisfiable);
  std::string_view rest = value.substr(eq + 1);
  std::size_t specs = 0;
  bool suffix_of_empty = false;
  for (;;) {
    auto comma = rest.find(',');
    std::string_view element = trim_ows(rest.substr(0, comma));
    // §5.6.1.2: a recipient accepts empty list elements ("bytes=0-1,,2-3").
    if (!element.empty()) {
      auto spec = parse_spec(element);
      if (!spec || ++specs > RangeSpec::max_ranges) return RangeSpec(Kind::ignore);
      if (spec->suffix) {
        // §14.1.1: a suffix-range is satisfiable iff its length is non-zero.
        if (spec->first > 0 && size == 0) suffix_of_empty = true;
        if (spec->first > 0 && size > 0) out.add({spec->first >= size ? 0 : size - spec->first, size - 1});
      } else if (spec->first < size) {  // §14.1.1: an int-range needs first-pos < length
        out.add({spec->first, std::min(spec->last, size - 1)});
      }
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (specs == 0 || suffix_of_empty) return RangeSpec(Kind::ignore);  // "bytes=" has no range-spec
  if (out.kind() == Kind::satisfiable) out.coalesce_if_overlapping();
  return out;
}

std::string_view format_content_range(ContentRangeBuffer& buf, ByteRange r, std::uint64_t size) noexcept {
  char* p = append(buf.data(), "bytes ");
  p = append(p, r.first);
  *p++ = '-';
  p = append(p, r.last);
  *p++ = '/';
  p = append(p, size);
  return {buf.data(), static_cast<std::size_t>(p - buf.data())};
}

std::string_view format_unsatisfied_range(ContentRangeBuffer& buf, std::uint64_t size) noexcept {
  char* p = append(buf.data(), "bytes */");
  p = append(p, size);
  return {buf.data(), static_cast<std::size_t>(p - buf.data())};
}

std::string make_boundary(std::uint64_t seed) {
  // splitmix64's finaliser: consecutive seeds give unrelated-looking boundaries.
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  std::string out = "hellepoll-0000000000000000";
  for (std::size_t i = out.size(); i-- > out.size() - 16; z >>= 4) out[i] = "0123456789abcdef"[z & 0xf];
  return out;
}

namespace {
constexpr std::string_view type_prefix = "Content-Type: ";
constexpr std::string_view range_prefix = "Content-Range: bytes ";
}  // namespace

std::string multipart_part_header(std::string_view boundary, std::string_view content_type, ByteRange r,
                                  std::uint64_t size) {
  std::string out;
  out.reserve(multipart_part_header_size(boundary, content_type, r, size));
  out.append("\r\n--").append(boundary).append("\r\n");
  if (!content_type.empty()) out.append(type_prefix).append(content_type).append("\r\n");
  ContentRangeBuffer buf;
  out.append("Content-Range: ").append(format_content_range(buf, r, size)).append("\r\n\r\n");
  return out;
}

std::uint64_t multipart_part_header_size(std::string_view boundary, std::string_view content_type, ByteRange r,
                                         std::uint64_t size) noexcept {
  std::uint64_t n = 4 + boundary.size() + 2;  // "\r\n--" boundary "\r\n"
  if (!content_type.empty()) n += type_prefix.size() + content_type.size() + 2;
  n += range_prefix.size() + decimal_digits(r.first) + 1 + decimal_digits(r.last) + 1 + decimal_digits(size);
  return n + 4;  // "\r\n\r\n"
}

std::string multipart_close(std::string_view boundary) {
  std::string out;
  out.reserve(boundary.size() + 8);
  out.append("\r\n--").append(boundary).append("--\r\n");
  return out;
}

std::uint64_t multipart_body_size(std::span<const ByteRange> ranges, std::string_view boundary,
                                  std::string_view content_type, std::uint64_t size) noexcept {
  std::uint64_t n = 4 + boundary.size() + 4;  // the close delimiter
  for (const ByteRange& r : ranges) n += multipart_part_header_size(boundary, content_type, r, size) + r.length();
  return n;
}

}  // namespace hellepoll::http
