// Chunked body decoder: valid bodies decoded identically whatever the split, every
// rejection with its exact status, and limits checked before the bytes they guard.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "hellepoll/http/chunked.hpp"

namespace hellepoll::http {
inline std::ostream& operator<<(std::ostream& os, ChunkedDecoder::State s) {
  switch (s) {
    case ChunkedDecoder::State::NeedMore: return os << "NeedMore";
    case ChunkedDecoder::State::Data: return os << "Data";
    case ChunkedDecoder::State::Done: return os << "Done";
    case ChunkedDecoder::State::Error: return os << "Error";
  }
  return os << "?";
}
}  // namespace hellepoll::http

namespace http_chunked_tests {

using namespace hellepoll::http;
using namespace std::string_literals;
using State = ChunkedDecoder::State;

namespace {

// BOOST_TEST would compare char pointers as C strings; these are addresses.
bool same_address(const char* a, const char* b) { return a == b; }

// What decoding produced, copied out of the (short-lived) input pieces.
struct Decoded {
  State state = State::NeedMore;
  int status = 0;
  std::string message;
  std::string body;
  std::size_t consumed = 0;  // of the whole input, up to Done or Error
  std::uint64_t body_bytes = 0;

  bool operator==(const Decoded&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Decoded& d) {
  return os << d.state << " status=" << d.status << " msg='" << d.message << "' body='" << d.body
            << "' consumed=" << d.consumed << " body_bytes=" << d.body_bytes;
}

// Feeds `raw` in pieces ending at each cut. Every piece is copied into a heap block of
// exactly its size and freed afterwards, so a view kept past its piece or a read past
// the end shows up under AddressSanitizer.
Decoded decode_in_pieces(std::string_view raw, const std::vector<std::size_t>& cuts, const Limits& limits = {}) {
  ChunkedDecoder dec(limits);
  Decoded out;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(raw.size());
  std::size_t from = 0;
  for (const std::size_t end : ends) {
    const std::size_t n = end - from;
    const std::unique_ptr<char[]> piece(new char[std::max<std::size_t>(n, 1)]);
    if (n != 0) std::memcpy(piece.get(), raw.data() + from, n);
    std::string_view in(piece.get(), n);
    while (!in.empty()) {
      const ChunkedDecoder::Step step = dec.decode(in);
      BOOST_TEST(step.consumed <= in.size());
      BOOST_TEST((step.state == State::Data) == !step.data.empty());
      if (step.state == State::Data) {
        // Zero-copy: the data is a view into the input, right before the consumed mark.
        BOOST_TEST(same_address(step.data.data() + step.data.size(), in.data() + step.consumed));
      }
      out.body.append(step.data);
      out.consumed += step.consumed;
      in.remove_prefix(step.consumed);
      out.state = step.state;
      if (step.state == State::Done || step.state == State::Error) break;
      if (step.state == State::NeedMore) BOOST_TEST(in.empty());
    }
    if (out.state == State::Done || out.state == State::Error) break;
    from = end;
  }
  if (out.state == State::Error) {
    out.status = dec.error().status;
    out.message = std::string(dec.error().message);
  }
  out.body_bytes = dec.body_bytes();
  return out;
}

Decoded decode_whole(std::string_view raw, const Limits& limits = {}) { return decode_in_pieces(raw, {}, limits); }

Decoded decode_bytewise(std::string_view raw, const Limits& limits = {}) {
  std::vector<std::size_t> cuts;
  for (std::size_t n = 1; n < raw.size(); ++n) cuts.push_back(n);
  return decode_in_pieces(raw, cuts, limits);
}

void check_split_agreement(std::string_view raw, const Limits& limits, const Decoded& whole) {
  BOOST_TEST(decode_bytewise(raw, limits) == whole);
  std::mt19937 rng(static_cast<std::uint32_t>(raw.size()) * 104729U + 3U);
  for (int trial = 0; trial < 16 && raw.size() > 1; ++trial) {
    std::uniform_int_distribution<std::size_t> pick(1, raw.size() - 1);
    std::uniform_int_distribution<std::size_t> count(1, 6);
    std::vector<std::size_t> cuts;
    for (std::size_t k = count(rng); k > 0; --k) cuts.push_back(pick(rng));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    BOOST_TEST(decode_in_pieces(raw, cuts, limits) == whole);
  }
}

struct ValidBody {
  const char* name;
  std::string raw;   // chunked body, possibly followed by bytes of the next request
  std::string body;  // decoded
  std::size_t size;  // bytes of raw the chunked body occupies
};

std::vector<ValidBody> valid_bodies() {
  std::vector<ValidBody> v = {
      {"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", 0},
      {"empty body", "0\r\n\r\n", "", 0},
      {"several chunks, hex sizes", "3\r\nabc\r\na\r\n0123456789\r\nA\r\nABCDEFGHIJ\r\n0\r\n\r\n",
       "abc0123456789ABCDEFGHIJ", 0},
      {"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello", 0},
      {"sixteen digits", "0000000000000003\r\nabc\r\n0\r\n\r\n", "abc", 0},
      // chunk-size = 1*HEXDIG (RFC 9112 §7.1): leading zeros are not digits of the value.
      {"many leading zeros", "00000000000000000000000000000005\r\nhello\r\n00000000000000000\r\n\r\n", "hello", 0},
      {"last chunk written with many zeros", "00000000000000000000000000000000000000000000000000000000\r\n\r\n", "", 0},
      {"extensions", "5;name\r\nhello\r\n6;a=b;c=\"q\\\"x;y\"\r\n world\r\n0;last=1\r\n\r\n", "hello world", 0},
      {"extensions with BWS", "5 ; a = b ;\tc\r\nhello\r\n0\r\n\r\n", "hello", 0},
      {"trailers", "5\r\nhello\r\n0\r\nChecksum: abc\r\nX-Empty:\r\nX-Text: caf\xc3\xa9 \t\r\n\r\n", "hello", 0},
      {"binary data with CRLF inside", "6\r\n\r\n\0\r\n\n\r\n0\r\n\r\n"s, "\r\n\0\r\n\n"s, 0},
      {"followed by next request", "2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "hi", 0},
  };
  for (ValidBody& b : v) {
    const std::size_t next = b.raw.find("GET");
    b.size = next == std::string::npos ? b.raw.size() : next;
  }
  return v;
}

struct BadBody {
  const char* name;
  std::string raw;
  int status;
  Limits limits = {};
};

std::vector<BadBody> bad_bodies() {
  Limits small;
  small.max_body = 10;
  small.max_chunk_ext = 8;
  small.max_trailer_bytes = 20;
  return {
      {"empty size", "\r\nhello\r\n0\r\n\r\n", 400},
      {"non-hex size", "x\r\n", 400},
      {"leading space", " 5\r\nhello\r\n0\r\n\r\n", 400},
      {"leading tab", "\t5\r\nhello\r\n0\r\n\r\n", 400},
      {"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 400},
      {"sign", "+5\r\nhello\r\n0\r\n\r\n", 400},
      {"negative", "-1\r\n", 400},
      {"seventeen significant digits", "10000000000000000\r\n", 400},
      {"seventeen significant digits after zeros", "00010000000000000000\r\n", 400},
      {"overflow", "fffffffffffffffff\r\n", 400},
      {"whitespace after size without extension", "5 \r\nhello\r\n0\r\n\r\n", 400},
      {"bare LF after size", "5\nhello\r\n0\r\n\r\n", 400},
      {"bare CR after size", "5\rhello\r\n0\r\n\r\n", 400},
      {"empty extension name", "5;\r\nhello\r\n0\r\n\r\n", 400},
      {"extension without value", "5;a=\r\nhello\r\n0\r\n\r\n", 400},
      {"extension bad char", "5;a@b\r\nhello\r\n0\r\n\r\n", 400},
      {"extension trailing BWS", "5;a \r\nhello\r\n0\r\n\r\n", 400},
      {"unterminated quoted extension", "5;a=\"x\r\nhello\r\n0\r\n\r\n", 400},
      {"CTL in quoted extension", "5;a=\"x\x01\"\r\nhello\r\n0\r\n\r\n", 400},
      {"junk after quoted extension", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", 400},
      {"bare LF in extension", "5;a\nhello\r\n0\r\n\r\n", 400},
      {"extension too long", "1;abcdefghi\r\nh\r\n0\r\n\r\n", 400, small},  // 10 > 8 + 1
      // 7 extension bytes a line, each under 8 + the 1 data byte; 14 in all is over 8 + 2.
      {"extensions too long in all", "1;abcdef\r\nx\r\n1;abcdef\r\ny\r\n0\r\n\r\n", 400, small},
      // Leading zeros past the 16 digits a size may need count as extension bytes: 9 > 8.
      {"leading zeros past the extension budget", std::string(16 + 9, '0') + "\r\n\r\n", 400, small},
      {"data longer than size", "5\r\nhelloX\r\n0\r\n\r\n", 400},
      {"data shorter than size", "5\r\nhell\r\n0\r\n\r\n", 400},
      {"bare CR after data", "5\r\nhello\rX0\r\n\r\n", 400},
      {"bare LF after data", "5\r\nhello\n0\r\n\r\n", 400},
      {"body over max_body", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 413, small},
      {"single chunk over max_body", "b\r\nhello world\r\n0\r\n\r\n", 413, small},
      {"bare LF after last chunk", "0\r\n\n", 400},
      {"bare CR after last chunk", "0\r\n\rX", 400},
      {"trailer obs-fold", "0\r\nA: b\r\n c\r\n\r\n", 400},
      {"trailer whitespace line", "0\r\n b: c\r\n\r\n", 400},
      {"trailer space before colon", "0\r\nA : b\r\n\r\n", 400},
      {"trailer empty name", "0\r\n: b\r\n\r\n", 400},
      {"trailer without colon", "0\r\nAb\r\n\r\n", 400},
      {"trailer bad name char", "0\r\nA(b): c\r\n\r\n", 400},
      {"trailer NUL in value", "0\r\nA: b\0c\r\n\r\n"s, 400},
      {"trailer bare CR in value", "0\r\nA: b\rc\r\n\r\n", 400},
      {"trailer bare LF in value", "0\r\nA: b\nc\r\n\r\n", 400},
      {"trailer section too large", "0\r\nX-Long: 0123456789\r\n\r\n", 431, small},
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(chunked_decoder)

BOOST_AUTO_TEST_CASE(valid_bodies_decode_identically_at_every_split) {
  for (const ValidBody& b : valid_bodies()) {
    BOOST_TEST_CONTEXT(b.name) {
      const Decoded whole = decode_whole(b.raw);
      BOOST_TEST(whole.state == State::Done);
      BOOST_TEST(whole.body == b.body);
      BOOST_TEST(whole.consumed == b.size);
      BOOST_TEST(whole.body_bytes == b.body.size());
      check_split_agreement(b.raw, Limits{}, whole);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejections_have_exact_status) {
  for (const BadBody& b : bad_bodies()) {
    BOOST_TEST_CONTEXT(b.name) {
      const Decoded whole = decode_whole(b.raw, b.limits);
      BOOST_TEST(whole.state == State::Error);
      BOOST_TEST(whole.status == b.status);
      BOOST_TEST(!whole.message.empty());
      check_split_agreement(b.raw, b.limits, whole);
    }
  }
}

BOOST_AUTO_TEST_CASE(body_limit_is_checked_before_the_data) {
  Limits l;
  l.max_body = 10;
  ChunkedDecoder dec(l);
  // The size line alone is enough to refuse: no need to read (or buffer) the data.
  const ChunkedDecoder::Step step = dec.decode("b\r\n");
  BOOST_TEST(step.state == State::Error);
  BOOST_TEST(dec.error().status == 413);
  BOOST_TEST(dec.body_bytes() == 0U);

  // Exactly max_body in two chunks is fine.
  const Decoded ok = decode_whole("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", l);
  BOOST_TEST(ok.state == State::Done);
  BOOST_TEST(ok.body_bytes == 10U);
}

BOOST_AUTO_TEST_CASE(extension_bytes_may_pass_the_data_by_max_chunk_ext_in_all) {
  // A 4 KiB chunk may carry 4 KiB + max_chunk_ext (4 KiB) of extensions...
  const std::string data(4096, 'd');
  const std::string ext = ";x=" + std::string(8192 - 3, 'e');
  const Decoded ok = decode_whole("1000" + ext + "\r\n" + data + "\r\n0\r\n\r\n");
  BOOST_TEST(ok.state == State::Done);
  BOOST_TEST(ok.body_bytes == 4096U);
  // ...and not a byte more, here on the last chunk, which has no data of its own.
  const Decoded over = decode_whole("1000" + ext + "\r\n" + data + "\r\n0;\r\n\r\n");
  BOOST_TEST(over.state == State::Error);
  BOOST_TEST(over.status == 400);
  BOOST_TEST(over.message == "chunk extensions too long");

  // Chunks that each bring a little more extension than data use up the allowance.
  std::string creeping;
  for (int i = 0; i < 3000; ++i) creeping += "1;ab\r\nz\r\n";
  const Decoded crept = decode_whole(creeping + "0\r\n\r\n");
  BOOST_TEST(crept.state == State::Error);
  BOOST_TEST(crept.status == 400);
  BOOST_TEST(crept.body_bytes == 2048U);  // 3 extension bytes a chunk: 2 more than its data
}

BOOST_AUTO_TEST_CASE(data_comes_back_as_views_and_resumes_mid_chunk) {
  ChunkedDecoder dec{Limits{}};
  const std::string part1 = "a;x=y\r\n0123";
  ChunkedDecoder::Step s = dec.decode(part1);
  BOOST_TEST(s.state == State::Data);
  BOOST_TEST(s.consumed == part1.size());
  BOOST_TEST(s.data == "0123");
  BOOST_TEST(same_address(s.data.data(), part1.data() + 7));
  BOOST_TEST(dec.body_bytes() == 4U);

  const std::string part2 = "456789\r\n0\r\nT: v\r\n\r\nNEXT";
  s = dec.decode(part2);
  BOOST_TEST(s.state == State::Data);
  BOOST_TEST(s.data == "456789");
  std::string_view rest = std::string_view(part2).substr(s.consumed);
  s = dec.decode(rest);
  BOOST_TEST(s.state == State::Done);
  BOOST_TEST(rest.substr(s.consumed) == "NEXT");
  BOOST_TEST(dec.done());
  BOOST_TEST(dec.body_bytes() == 10U);

  // Sticky until reset.
  s = dec.decode("5\r\nhello");
  BOOST_TEST(s.state == State::Done);
  BOOST_TEST(s.consumed == 0U);

  dec.reset();
  BOOST_TEST(dec.body_bytes() == 0U);
  s = dec.decode("5\r\nhello");
  BOOST_TEST(s.state == State::Data);
  BOOST_TEST(s.data == "hello");
}

BOOST_AUTO_TEST_CASE(framing_only_input_is_consumed_with_need_more) {
  ChunkedDecoder dec{Limits{}};
  const ChunkedDecoder::Step s = dec.decode("1f;ext=\"partial");
  BOOST_TEST(s.state == State::NeedMore);
  BOOST_TEST(s.consumed == 15U);
  BOOST_TEST(s.data.empty());
}

BOOST_AUTO_TEST_CASE(errors_are_sticky) {
  ChunkedDecoder dec{Limits{}};
  BOOST_TEST(dec.decode("zz").state == State::Error);
  BOOST_TEST(dec.error().status == 400);
  const ChunkedDecoder::Step again = dec.decode("5\r\nhello\r\n");
  BOOST_TEST(again.state == State::Error);
  BOOST_TEST(again.consumed == 0U);
}

BOOST_AUTO_TEST_CASE(large_chunk_streams_across_many_reads) {
  const std::string data(100000, 'z');
  std::string raw = "186a0\r\n" + data + "\r\n0\r\n\r\n";  // 0x186a0 == 100000
  std::vector<std::size_t> cuts;
  for (std::size_t n = 1000; n < raw.size(); n += 1000) cuts.push_back(n);
  const Decoded d = decode_in_pieces(raw, cuts);
  BOOST_TEST(d.state == State::Done);
  BOOST_TEST((d.body == data));
  BOOST_TEST(d.body_bytes == 100000U);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_chunked_tests
