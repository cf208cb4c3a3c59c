#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "hellepoll/http/range.hpp"

namespace http_range_tests {

using namespace hellepoll::http;
using Kind = RangeSpec::Kind;

namespace {

bool ignored(std::string_view v, std::uint64_t size) { return parse_range(v, size).kind() == Kind::ignore; }
bool unsatisfiable(std::string_view v, std::uint64_t size) {
  return parse_range(v, size).kind() == Kind::unsatisfiable;
}

// "first-last,..." of a satisfiable result, or the kind's name, for readable failures.
std::string show(std::string_view v, std::uint64_t size) {
  RangeSpec r = parse_range(v, size);
  if (r.kind() == Kind::ignore) return "ignore";
  if (r.kind() == Kind::unsatisfiable) return "416";
  std::string out;
  for (const ByteRange& b : r.ranges()) {
    if (!out.empty()) out += ',';
    out += std::to_string(b.first) + '-' + std::to_string(b.last);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(byte_range)

BOOST_AUTO_TEST_CASE(single_ranges) {
  BOOST_TEST(show("bytes=0-0", 10) == "0-0");
  BOOST_TEST(show("bytes=0-9", 10) == "0-9");
  BOOST_TEST(show("bytes=2-5", 10) == "2-5");
  BOOST_TEST(show("bytes=5-", 10) == "5-9");
  BOOST_TEST(show("bytes=9-", 10) == "9-9");
  BOOST_TEST(show("bytes=-3", 10) == "7-9");
  BOOST_TEST(show("bytes=-10", 10) == "0-9");
  BOOST_TEST(show("bytes=-500", 10) == "0-9");  // a suffix longer than the file is all of it
  BOOST_TEST(show("bytes=3-500", 10) == "3-9");  // last-pos clamped to the end
  BOOST_TEST(show("bytes=0-0", 1) == "0-0");
  BOOST_TEST(parse_range("bytes=2-5", 10).ranges()[0].length() == 4u);
}

BOOST_AUTO_TEST_CASE(multiple_ranges_keep_their_order) {
  BOOST_TEST(show("bytes=0-0,-1", 10) == "0-0,9-9");
  BOOST_TEST(show("bytes=0-1,4-5", 10) == "0-1,4-5");
  BOOST_TEST(show("bytes=6-7,0-1", 10) == "6-7,0-1");  // §14.2: the order the client asked
}

BOOST_AUTO_TEST_CASE(whitespace_and_empty_elements) {
  BOOST_TEST(show("bytes= 1-2 , 4-5", 10) == "1-2,4-5");
  BOOST_TEST(show("bytes=1-2,\t4-5 ", 10) == "1-2,4-5");
  BOOST_TEST(show("  bytes=1-2", 10) == "1-2");
  BOOST_TEST(show("bytes=1-2,,4-5,", 10) == "1-2,4-5");
  BOOST_TEST(show("bytes=,1-2", 10) == "1-2");
}

BOOST_AUTO_TEST_CASE(unit_is_case_insensitive) {
  BOOST_TEST(show("BYTES=0-1", 10) == "0-1");
  BOOST_TEST(show("Bytes=0-1", 10) == "0-1");
}

BOOST_AUTO_TEST_CASE(ignored_means_full_200) {
  BOOST_TEST(ignored("", 10));
  BOOST_TEST(ignored("items=0-1", 10));
  BOOST_TEST(ignored("bytes", 10));
  BOOST_TEST(ignored("bytes 0-1", 10));
  BOOST_TEST(ignored("bytes =0-1", 10));
  BOOST_TEST(ignored("byte=0-1", 10));
  BOOST_TEST(ignored("bytesx=0-1", 10));
  BOOST_TEST(ignored("bytes=", 10));
  BOOST_TEST(ignored("bytes=,", 10));
  BOOST_TEST(ignored("bytes=5-2", 10));  // §14.1.1: last-pos < first-pos is invalid
  BOOST_TEST(ignored("bytes=0-1,5-2", 10));  // one invalid spec spoils the whole field
  BOOST_TEST(ignored("bytes=-", 10));
  BOOST_TEST(ignored("bytes=--1", 10));
  BOOST_TEST(ignored("bytes=1", 10));
  BOOST_TEST(ignored("bytes=a-b", 10));
  BOOST_TEST(ignored("bytes=1-2-3", 10));
  BOOST_TEST(ignored("bytes=+1-2", 10));
  BOOST_TEST(ignored("bytes=1 -2", 10));
  BOOST_TEST(ignored("bytes=1- 2", 10));
  BOOST_TEST(ignored("bytes=0x10-", 10));
  BOOST_TEST(ignored("bytes=-1.5", 10));
}

BOOST_AUTO_TEST_CASE(unsatisfiable_means_416) {
  BOOST_TEST(unsatisfiable("bytes=-0", 10));  // a zero-length suffix selects nothing
  BOOST_TEST(unsatisfiable("bytes=999-", 10));
  BOOST_TEST(unsatisfiable("bytes=10-", 10));
  BOOST_TEST(unsatisfiable("bytes=10-20", 10));
  BOOST_TEST(unsatisfiable("bytes=10-20,30-,-0", 10));
  BOOST_TEST(unsatisfiable("bytes=0-0", 0));
  BOOST_TEST(unsatisfiable("bytes=0-", 0));
  BOOST_TEST(unsatisfiable("bytes=-0", 0));
}

BOOST_AUTO_TEST_CASE(unsatisfiable_specs_are_dropped) {
  BOOST_TEST(show("bytes=999-,2-3", 10) == "2-3");
  BOOST_TEST(show("bytes=-0,2-3", 10) == "2-3");
}

BOOST_AUTO_TEST_CASE(suffix_of_empty_file_is_full_200) {
  // §14.1.1 calls "-N" satisfiable on an empty representation, yet no byte range of it can
  // be named: the full (empty) 200 answers it, not 416.
  BOOST_TEST(ignored("bytes=-5", 0));
  BOOST_TEST(ignored("bytes=0-,-1", 0));
}

BOOST_AUTO_TEST_CASE(overlapping_or_touching_ranges_coalesce) {
  BOOST_TEST(show("bytes=0-4,2-6", 10) == "0-6");
  BOOST_TEST(show("bytes=0-4,5-6", 10) == "0-6");  // adjacent: one part is cheaper than two
  BOOST_TEST(show("bytes=5-6,0-5", 10) == "0-6");
  BOOST_TEST(show("bytes=0-,0-,0-,0-", 10) == "0-9");  // no amplification
  // A merged range takes its first member's place, the others keep theirs (RFC 9110
  // §15.3.7.2); they were all sorted ascending once any two merged.
  BOOST_TEST(show("bytes=8-9,0-1,1-2", 10) == "8-9,0-2");
  BOOST_TEST(show("bytes=8-8,9-9,0-0", 12) == "8-9,0-0");
  BOOST_TEST(show("bytes=6-7,0-1,3-4,2-2", 10) == "6-7,0-4");
  BOOST_TEST(show("bytes=-1,9-", 10) == "9-9");
  BOOST_TEST(show("bytes=0-1,3-4,6-7", 10) == "0-1,3-4,6-7");  // one-byte gaps stay separate
}

BOOST_AUTO_TEST_CASE(large_files_and_huge_numbers) {
  const std::uint64_t five_gib = 5ULL << 30;
  BOOST_TEST(show("bytes=4294967296-", five_gib) == "4294967296-5368709119");
  BOOST_TEST(show("bytes=-1", five_gib) == "5368709119-5368709119");
  const std::uint64_t big = 1ULL << 63;
  BOOST_TEST(show("bytes=9223372036854775807-", big) == "9223372036854775807-9223372036854775807");
  BOOST_TEST(show("bytes=0-9223372036854775807", big) == "0-9223372036854775807");
  BOOST_TEST(show("bytes=0-18446744073709551615", 10) == "0-9");  // 2^64-1
  BOOST_TEST(show("bytes=0-99999999999999999999999999999", 10) == "0-9");  // saturates
  BOOST_TEST(show("bytes=-99999999999999999999999999999", 10) == "0-9");
  BOOST_TEST(unsatisfiable("bytes=99999999999999999999999999999-", 10));
  BOOST_TEST(unsatisfiable("bytes=18446744073709551615-", 18446744073709551615ULL));
  BOOST_TEST(show("bytes=18446744073709551614-", 18446744073709551615ULL) ==
             "18446744073709551614-18446744073709551614");
}

BOOST_AUTO_TEST_CASE(too_many_ranges_are_ignored) {
  std::string v = "bytes=";
  for (int i = 0; i < 32; ++i) v += std::to_string(i * 2) + "-" + std::to_string(i * 2) + ",";
  BOOST_TEST(parse_range(v, 1000).ranges().size() == 32u);
  v += "100-100";
  BOOST_TEST(ignored(v, 1000));
  // Unsatisfiable specs count too: each costs parsing, and a client sending 33 is odd.
  std::string w = "bytes=0-0";
  for (int i = 0; i < 32; ++i) w += ",5000-";
  BOOST_TEST(ignored(w, 1000));
}

BOOST_AUTO_TEST_CASE(content_range_text) {
  ContentRangeBuffer buf;
  BOOST_TEST(format_content_range(buf, {0, 0}, 1) == "bytes 0-0/1");
  BOOST_TEST(format_content_range(buf, {100, 199}, 5368709120) == "bytes 100-199/5368709120");
  const std::uint64_t max = 18446744073709551615ULL;
  BOOST_TEST(format_content_range(buf, {max - 1, max - 1}, max) ==
             "bytes 18446744073709551614-18446744073709551614/18446744073709551615");
  BOOST_TEST(format_unsatisfied_range(buf, 10) == "bytes */10");
  BOOST_TEST(format_unsatisfied_range(buf, 0) == "bytes */0");
}

BOOST_AUTO_TEST_CASE(boundary) {
  std::string b = make_boundary(42);
  BOOST_TEST(b.size() == 26u);
  BOOST_TEST(b.starts_with("hellepoll-"));
  BOOST_TEST(b.find_first_not_of("hellepoll-0123456789abcdef") == std::string::npos);
  BOOST_TEST(make_boundary(42) == b);
  BOOST_TEST(make_boundary(43) != b);
  BOOST_TEST(make_boundary(0) != make_boundary(1));
}

BOOST_AUTO_TEST_CASE(multipart_framing) {
  BOOST_TEST(multipart_part_header("B", "text/plain", {0, 4}, 10) ==
             "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-4/10\r\n\r\n");
  BOOST_TEST(multipart_part_header("B", "", {0, 4}, 10) == "\r\n--B\r\nContent-Range: bytes 0-4/10\r\n\r\n");
  BOOST_TEST(multipart_close("B") == "\r\n--B--\r\n");
}

BOOST_AUTO_TEST_CASE(multipart_body_size_is_exact) {
  const std::string body = "0123456789abcdefghij";
  const std::string boundary = make_boundary(7);
  for (std::string_view type : {"text/plain; charset=utf-8", ""}) {
    for (std::string_view header : {"bytes=0-0,-1", "bytes=1-3,5-9,15-", "bytes=-19,0-0"}) {
      RangeSpec spec = parse_range(header, body.size());
      BOOST_TEST_REQUIRE((spec.kind() == Kind::satisfiable));
      std::string built;
      for (const ByteRange& r : spec.ranges()) {
        std::string part = multipart_part_header(boundary, type, r, body.size());
        BOOST_TEST(part.size() == multipart_part_header_size(boundary, type, r, body.size()));
        built += part;
        built += body.substr(r.first, r.length());
      }
      built += multipart_close(boundary);
      BOOST_TEST(built.size() == multipart_body_size(spec.ranges(), boundary, type, body.size()));
    }
  }
  // Digit counts at the powers of ten, where an off-by-one would hide.
  for (std::uint64_t v : {9ULL, 10ULL, 99ULL, 100ULL, 18446744073709551614ULL}) {
    ByteRange r{v, v};
    BOOST_TEST(multipart_part_header("b", "t", r, v + 1).size() == multipart_part_header_size("b", "t", r, v + 1));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_range_tests
