// Range requests. Input: bytes 0-7 the representation's length (below 2^40, or below 64
// when byte 0 is odd, so ranges often meet the end), the rest the Range field value.
// Checks:
//  - the ranges lie inside the representation, none empty, at most max_ranges;
//  - against a reference parse written from range.hpp and RFC 9110 §14.1.1: the same kind
//    (ignore / unsatisfiable / satisfiable), and exactly the satisfiable range-specs clamped
//    to the length, in the request's order; when any two overlap or touch, merged (so no
//    byte is sent twice, nor more bytes than the length), each merged range where its
//    first member was asked for (RFC 9110 §15.3.7.2);
//  - the framing: Content-Range reads back as the range, a multipart part header is as long
//    as multipart_part_header_size says and carries it, multipart_body_size is the sum of
//    the parts and the close delimiter; the 416 form is "bytes */<length>".
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "hellepoll/http/range.hpp"

using namespace hellepoll::http;

namespace {
constexpr std::uint64_t kSaturated = ~std::uint64_t{0};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// 1*DIGIT; past 2^64 - 1 it saturates (range.hpp: that still gives the right answer).
std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  unsigned __int128 v = 0;
  for (char c : s) v = std::min<unsigned __int128>(v * 10 + static_cast<unsigned>(c - '0'), kSaturated);
  return static_cast<std::uint64_t>(v);
}

// Sorted, with overlapping or touching ranges merged.
std::vector<ByteRange> merged(std::vector<ByteRange> v) {
  std::ranges::sort(v, {}, &ByteRange::first);
  std::vector<ByteRange> out;
  for (const ByteRange& r : v) {
    if (!out.empty() && r.first <= out.back().last + 1) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

struct Expected {
  RangeSpec::Kind kind;
  std::vector<ByteRange> ranges;
};

Expected reference(std::string_view value, std::uint64_t length) {
  using Kind = RangeSpec::Kind;
  value = trim(value);
  const std::size_t eq = value.find('=');
  if (eq == std::string_view::npos) return {Kind::ignore, {}};
  std::string unit(value.substr(0, eq));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit != "bytes") return {Kind::ignore, {}};
  std::vector<std::string_view> specs;
  for (std::string_view rest = value.substr(eq + 1);;) {
    const std::size_t comma = rest.find(',');
    if (const auto e = trim(rest.substr(0, comma)); !e.empty()) specs.push_back(e);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (specs.empty() || specs.size() > RangeSpec::max_ranges) return {Kind::ignore, {}};
  std::vector<ByteRange> ranges;
  for (std::string_view spec : specs) {
    const std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return {Kind::ignore, {}};
    if (dash == 0) {  // suffix-range "-N": the last N bytes
      const auto n = number(spec.substr(1));
      if (!n) return {Kind::ignore, {}};
      if (*n > 0 && length == 0) return {Kind::ignore, {}};  // range.hpp: no range of an empty body
      if (*n > 0) ranges.push_back({*n >= length ? 0 : length - *n, length - 1});
    } else {  // int-range "F-" or "F-L", L >= F
      const auto first = number(spec.substr(0, dash));
      const auto last = dash + 1 < spec.size() ? number(spec.substr(dash + 1)) : kSaturated;
      if (!first || !last || *last < *first) return {Kind::ignore, {}};
      if (*first < length) ranges.push_back({*first, std::min(*last, length - 1)});
    }
  }
  if (ranges.empty()) return {Kind::unsatisfiable, {}};
  const auto sorted = merged(ranges);
  if (sorted.size() == ranges.size()) return {Kind::satisfiable, ranges};
  std::vector<ByteRange> in_order;
  for (const ByteRange& r : ranges) {
    const auto home = std::ranges::find_if(sorted, [&](const ByteRange& m) { return m.first <= r.first && r.first <= m.last; });
    if (std::ranges::find(in_order, *home) == in_order.end()) in_order.push_back(*home);
  }
  return {Kind::satisfiable, in_order};
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::uint64_t length;
  std::memcpy(&length, data, 8);
  length = (data[0] & 1) ? (length >> 8) % 64 : length % (1ull << 40);
  const std::string_view header(reinterpret_cast<const char*>(data + 8), size - 8);
  const RangeSpec spec = parse_range(header, length);
  const std::vector<ByteRange> got(spec.ranges().begin(), spec.ranges().end());

  if (spec.kind() == RangeSpec::Kind::satisfiable) {
    CHECK(!got.empty() && got.size() <= RangeSpec::max_ranges);
    for (const ByteRange& r : got) CHECK(r.first <= r.last && r.last < length);
  } else {
    CHECK(got.empty());
  }
  const Expected want = reference(header, length);
  if (spec.kind() != want.kind || got != want.ranges)
    std::fprintf(stderr, "kind %d with %zu ranges; reference: kind %d with %zu\n", static_cast<int>(spec.kind()),
                 got.size(), static_cast<int>(want.kind), want.ranges.size());
  CHECK(spec.kind() == want.kind && got == want.ranges);

  ContentRangeBuffer buf;
  CHECK(format_unsatisfied_range(buf, length) == "bytes */" + std::to_string(length));
  if (got.empty()) return 0;
  const std::string boundary = make_boundary(length ^ got.size());
  CHECK(boundary.size() == 26 && boundary.starts_with("hellepoll-") &&
        boundary.find_first_not_of("0123456789abcdef", 10) == std::string::npos);
  const std::string_view type = (data[0] & 2) ? "text/plain" : "";
  std::uint64_t total = multipart_close(boundary).size();
  for (const ByteRange& r : got) {
    const std::string_view cr = format_content_range(buf, r, length);
    CHECK(cr == "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + std::to_string(length));
    const std::string part = multipart_part_header(boundary, type, r, length);
    CHECK(part.size() == multipart_part_header_size(boundary, type, r, length));
    CHECK(part.find(cr) != std::string::npos);
    total += part.size() + r.length();
  }
  CHECK(total == multipart_body_size(spec.ranges(), boundary, type, length));
  return 0;
}
