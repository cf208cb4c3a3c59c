// Request-head parser: valid heads, every rejection with its exact status, and the
// resumability contract (any split, buffer moved between calls) checked against
// parsing the same bytes in one block.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "hellepoll/http/parser.hpp"

namespace hellepoll::http {
// Lets BOOST_TEST print the enums when a comparison fails.
inline std::ostream& operator<<(std::ostream& os, ParseResult r) {
  switch (r) {
    case ParseResult::NeedMore: return os << "NeedMore";
    case ParseResult::Complete: return os << "Complete";
    case ParseResult::Error: return os << "Error";
  }
  return os << "?";
}
inline std::ostream& operator<<(std::ostream& os, BodyKind b) {
  return os << (b == BodyKind::None ? "None" : b == BodyKind::Length ? "Length" : "Chunked");
}
inline std::ostream& operator<<(std::ostream& os, Method m) { return os << static_cast<int>(m); }
inline std::ostream& operator<<(std::ostream& os, TargetForm f) { return os << static_cast<int>(f); }
}  // namespace hellepoll::http

namespace http_parser_tests {

using namespace hellepoll::http;
using namespace std::string_literals;

namespace {

// BOOST_TEST would compare char pointers as C strings; these are addresses.
bool same_address(const char* a, const char* b) { return a == b; }

// Bytes in a heap block of exactly their size: AddressSanitizer flags any read past the
// end (a std::string would hide it behind its NUL and spare capacity), and each copy
// lives at a new address, as a connection's buffer may after it grows or compacts.
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view bytes)
      : size_(bytes.size()), data_(new char[std::max<std::size_t>(size_, 1)]) {
    if (size_ != 0) std::memcpy(data_.get(), bytes.data(), size_);
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  std::size_t size_;
  std::unique_ptr<char[]> data_;
};

// Everything a parse produced, copied out so it outlives the buffer it pointed into.
struct Outcome {
  ParseResult result = ParseResult::NeedMore;
  int status = 0;
  std::string message;
  std::size_t head_size = 0;
  std::string method;
  Method method_kind = Method::Other;
  std::string target;
  TargetForm form = TargetForm::Origin;
  std::string path;
  std::string query;
  int version_minor = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  BodyKind body = BodyKind::None;
  std::uint64_t content_length = 0;
  bool keep_alive = false;
  bool expect_continue = false;
  std::string host;

  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << o.result << " status=" << o.status << " msg='" << o.message << "' head_size=" << o.head_size;
  if (o.result == ParseResult::Complete) {
    os << " " << o.method << " " << o.target << " path=" << o.path << " query=" << o.query
       << " 1." << o.version_minor << " headers=" << o.headers.size() << " body=" << o.body
       << " cl=" << o.content_length << " ka=" << o.keep_alive << " expect=" << o.expect_continue
       << " host=" << o.host;
  }
  return os;
}

Outcome capture(const RequestParser& parser, ParseResult r) {
  Outcome o;
  o.result = r;
  if (r == ParseResult::Error) {
    o.status = parser.error().status;
    o.message = std::string(parser.error().message);
  }
  if (r != ParseResult::Complete) return o;
  const RequestHead& h = parser.head();
  o.head_size = parser.head_size();
  o.method = h.method;
  o.method_kind = h.method_kind;
  o.target = h.target;
  o.form = h.target_form;
  o.path = h.path;
  o.query = h.query;
  o.version_minor = h.version_minor;
  for (const Header& f : h.headers) o.headers.emplace_back(f.name, f.value);
  o.body = h.body;
  o.content_length = h.content_length;
  o.keep_alive = h.keep_alive;
  o.expect_continue = h.expect_continue;
  o.host = h.host;
  return o;
}

Outcome parse_whole(std::string_view raw, const Limits& limits = {}) {
  RequestParser parser(limits);
  const ExactBuffer buf(raw);
  return capture(parser, parser.parse(buf.view()));
}

// Feeds growing prefixes ending at each cut (ascending), then the whole input; every
// prefix is a fresh copy, so the parser must not keep pointers between calls.
Outcome parse_in_pieces(std::string_view raw, const std::vector<std::size_t>& cuts, const Limits& limits = {}) {
  RequestParser parser(limits);
  std::vector<std::size_t> ends = cuts;
  ends.push_back(raw.size());
  for (const std::size_t end : ends) {
    const ExactBuffer buf(raw.substr(0, end));
    const ParseResult r = parser.parse(buf.view());
    if (r != ParseResult::NeedMore) return capture(parser, r);
  }
  return capture(parser, ParseResult::NeedMore);
}

Outcome parse_bytewise(std::string_view raw, const Limits& limits = {}) {
  std::vector<std::size_t> cuts;
  for (std::size_t n = 1; n < raw.size(); ++n) cuts.push_back(n);
  return parse_in_pieces(raw, cuts, limits);
}

// The resumability contract for one input: byte by byte and at random split points, the
// outcome is exactly the one-block outcome.
void check_split_agreement(std::string_view raw, const Limits& limits, const Outcome& whole) {
  BOOST_TEST(parse_bytewise(raw, limits) == whole);
  std::mt19937 rng(static_cast<std::uint32_t>(raw.size()) * 7919U + 1U);
  for (int trial = 0; trial < 16 && raw.size() > 1; ++trial) {
    std::uniform_int_distribution<std::size_t> pick(1, raw.size() - 1);
    std::uniform_int_distribution<std::size_t> count(1, 6);
    std::vector<std::size_t> cuts;
    for (std::size_t k = count(rng); k > 0; --k) cuts.push_back(pick(rng));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    BOOST_TEST(parse_in_pieces(raw, cuts, limits) == whole);
  }
}

Limits small_limits() {
  Limits l;
  l.max_request_line = 40;
  l.max_header_bytes = 160;
  l.max_headers = 4;
  l.max_body = 1000;
  return l;
}

struct ValidCase {
  const char* name;
  std::string raw;
  std::string method;
  Method method_kind;
  std::string target;
  TargetForm form;
  std::string path;
  std::string query;
  int version_minor;
  std::size_t header_count;
  BodyKind body;
  std::uint64_t content_length;
  bool keep_alive;
  bool expect_continue;
  std::string host;
};

const std::vector<ValidCase>& valid_cases() {
  using M = Method;
  using F = TargetForm;
  using B = BodyKind;
  static const std::vector<ValidCase> cases = {
      {"simple GET", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET", M::GET, "/", F::Origin, "/", "", 1,
       1, B::None, 0, true, false, "example.com"},
      {"path and query", "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n", "GET", M::GET,
       "/a/b?x=1&y=%20", F::Origin, "/a/b", "x=1&y=%20", 1, 2, B::None, 0, true, false, "h"},
      {"empty query", "GET /p? HTTP/1.1\r\nHost: h\r\n\r\n", "GET", M::GET, "/p?", F::Origin, "/p", "", 1, 1,
       B::None, 0, true, false, "h"},
      {"leading empty lines", "\r\n\r\nHEAD /x HTTP/1.1\r\nHost: h\r\n\r\n", "HEAD", M::HEAD, "/x", F::Origin,
       "/x", "", 1, 1, B::None, 0, true, false, "h"},
      {"HTTP/1.0 no Host", "GET / HTTP/1.0\r\n\r\n", "GET", M::GET, "/", F::Origin, "/", "", 0, 0, B::None, 0,
       false, false, ""},
      {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET", M::GET, "/", F::Origin,
       "/", "", 0, 1, B::None, 0, true, false, ""},
      {"HTTP/1.0 keep-alive then close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", "GET", M::GET,
       "/", F::Origin, "/", "", 0, 1, B::None, 0, false, false, ""},
      {"1.1 Connection close in list", "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, ,CLOSE \r\n\r\n", "GET",
       M::GET, "/", F::Origin, "/", "", 1, 2, B::None, 0, false, false, "h"},
      {"1.1 close on second Connection line",
       "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nConnection: close\r\n\r\n", "GET", M::GET, "/",
       F::Origin, "/", "", 1, 3, B::None, 0, false, false, "h"},
      {"POST with Content-Length", "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
       "POST", M::POST, "/submit", F::Origin, "/submit", "", 1, 2, B::Length, 11, true, false, "h"},
      {"Content-Length zero with leading zeros", "PUT /r HTTP/1.1\r\nHost: h\r\ncontent-length: 000\r\n\r\n", "PUT",
       M::PUT, "/r", F::Origin, "/r", "", 1, 2, B::Length, 0, true, false, "h"},
      {"Content-Length at max_body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n", "POST",
       M::POST, "/", F::Origin, "/", "", 1, 2, B::Length, 1048576, true, false, "h"},
      {"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", M::POST, "/",
       F::Origin, "/", "", 1, 2, B::Chunked, 0, true, false, "h"},
      {"chunked with OWS and case", "POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: \t ChUnKeD \t\r\n\r\n",
       "POST", M::POST, "/", F::Origin, "/", "", 1, 2, B::Chunked, 0, true, false, "h"},
      {"chunked after empty TE elements", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , ,chunked,\r\n\r\n",
       "POST", M::POST, "/", F::Origin, "/", "", 1, 2, B::Chunked, 0, true, false, "h"},
      {"TE over two lines, first empty",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", M::POST,
       "/", F::Origin, "/", "", 1, 3, B::Chunked, 0, true, false, "h"},
      {"absolute-form", "GET http://Example.com:8080/p/q?a=b HTTP/1.1\r\nHost: other\r\n\r\n", "GET", M::GET,
       "http://Example.com:8080/p/q?a=b", F::Absolute, "/p/q", "a=b", 1, 1, B::None, 0, true, false,
       "Example.com:8080"},
      {"absolute-form https no path", "GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n", "GET", M::GET, "HTTPS://h",
       F::Absolute, "/", "", 1, 1, B::None, 0, true, false, "h"},
      {"absolute-form query without path", "GET http://h?x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", M::GET,
       "http://h?x", F::Absolute, "/", "x", 1, 1, B::None, 0, true, false, "h"},
      {"absolute-form IPv6", "GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "GET", M::GET,
       "http://[::1]:80/", F::Absolute, "/", "", 1, 1, B::None, 0, true, false, "[::1]:80"},
      {"OPTIONS asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "OPTIONS", M::OPTIONS, "*", F::Asterisk, "*",
       "", 1, 1, B::None, 0, true, false, "h"},
      {"CONNECT authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "CONNECT",
       M::CONNECT, "example.com:443", F::Authority, "", "", 1, 1, B::None, 0, true, false, "example.com:443"},
      {"CONNECT IPv6", "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", "CONNECT",
       M::CONNECT, "[2001:db8::1]:443", F::Authority, "", "", 1, 1, B::None, 0, true, false, "[2001:db8::1]:443"},
      {"Expect 100-continue", "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n",
       "PUT", M::PUT, "/f", F::Origin, "/f", "", 1, 3, B::Length, 5, true, true, "h"},
      {"Expect ignored in HTTP/1.0", "PUT /f HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", "PUT",
       M::PUT, "/f", F::Origin, "/f", "", 0, 2, B::Length, 5, false, false, ""},
      {"other methods", "DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n", "DELETE", M::DELETE, "/x", F::Origin, "/x", "", 1,
       1, B::None, 0, true, false, "h"},
      {"extension method", "PROPFIND /x HTTP/1.1\r\nHost: h\r\n\r\n", "PROPFIND", M::Other, "/x", F::Origin, "/x",
       "", 1, 1, B::None, 0, true, false, "h"},
      {"methods are case-sensitive", "get / HTTP/1.1\r\nHost: h\r\n\r\n", "get", M::Other, "/", F::Origin, "/",
       "", 1, 1, B::None, 0, true, false, "h"},
      {"token method chars", "M-1.x!~ / HTTP/1.1\r\nHost: h\r\n\r\n", "M-1.x!~", M::Other, "/", F::Origin, "/",
       "", 1, 1, B::None, 0, true, false, "h"},
      {"empty values, obs-text, inner spaces",
       "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Ows: \t \r\nX-Text: caf\xc3\xa9  au  lait \t\r\n\r\n", "GET",
       M::GET, "/", F::Origin, "/", "", 1, 4, B::None, 0, true, false, "h"},
      {"long value with tabs and obs-text (vector path)",
       "GET /0123456789abcdefghij/0123456789 HTTP/1.1\r\nHost: h\r\nX-Long: 0123456789abcdef\t0123456789"
       "\xff\x80 abcdefghijklmnop\tqrstuvwxyz0123456789ABCDEF  \t \r\n\r\n",
       "GET", M::GET, "/0123456789abcdefghij/0123456789", F::Origin, "/0123456789abcdefghij/0123456789", "", 1, 2,
       B::None, 0, true, false, "h"},
      {"empty Host allowed", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET", M::GET, "/", F::Origin, "/", "", 1, 1,
       B::None, 0, true, false, ""},
      {"Host with port and pct-encoding", "GET / HTTP/1.1\r\nHost: a%2Db.example:8080\r\n\r\n", "GET", M::GET, "/",
       F::Origin, "/", "", 1, 1, B::None, 0, true, false, "a%2Db.example:8080"},
      {"Trace", "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", "TRACE", M::TRACE, "/", F::Origin, "/", "", 1, 1, B::None,
       0, true, false, "h"},
      {"PATCH", "PATCH / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "PATCH", M::PATCH, "/", F::Origin, "/",
       "", 1, 2, B::Length, 0, true, false, "h"},
      // Every visible character but '#' (never sent: a fragment), and '%' only where it
      // starts an escape in the path; in the query a raw '%' is the application's business.
      {"target with every visible char",
       "GET /!\"$%25&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~% HTTP/1.1\r\nHost: h\r\n\r\n", "GET", M::GET,
       "/!\"$%25&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~%", F::Origin, "/!\"$%25&'()*+,-./09:;<=>",
       "@AZ[\\]^_`az{|}~%", 1, 1, B::None, 0, true, false, "h"},
      // RFC 9110 §2.5: a higher minor version is processed as the highest we implement.
      {"HTTP/1.2 is taken as 1.1", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", "GET", M::GET, "/", F::Origin, "/", "", 1, 1,
       B::None, 0, true, false, "h"},
      {"HTTP/1.9 is taken as 1.1", "GET / HTTP/1.9\r\nHost: h\r\n\r\n", "GET", M::GET, "/", F::Origin, "/", "", 1, 1,
       B::None, 0, true, false, "h"},
  };
  return cases;
}

struct RejectCase {
  const char* name;
  std::string raw;
  int status;
  Limits limits = {};
};

std::string repeat(char c, std::size_t n) { return std::string(n, c); }

const std::vector<RejectCase>& reject_cases() {
  const Limits small = small_limits();
  Limits two_headers;
  two_headers.max_headers = 2;
  static const std::vector<RejectCase> cases = {
      // Request line (RFC 9112 §3).
      {"double SP after method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"double SP after target", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"leading SP", " GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"tab separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"method not a token", "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"method only", "GET\r\n\r\n", 400},
      {"SP inside target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"DEL in target", "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"byte >= 0x80 in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"NUL in target", "GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n"s, 400},
      {"byte >= 0x80 deep in a long target", "GET /0123456789abcdefghij\x80 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"DEL deep in a long target", "GET /0123456789abcdefghijklmnopqrstuvwxyz\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
       400},
      {"tab in target", "GET /\t HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"missing version", "GET /\r\nHost: h\r\n\r\n", 400},
      {"empty version", "GET / \r\nHost: h\r\n\r\n", 400},
      {"lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
      {"version without minor", "GET / HTTP/1\r\nHost: h\r\n\r\n", 400},
      {"version with two-digit minor", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400},
      {"version with trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"HTTP/0.9", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505},
      {"HTTP/3.0", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505},
      {"bare LF after request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
      {"bare CR after request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400},
      {"bare LF leading line", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"bare CR leading line", "\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"too many leading empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"target not a form", "GET foo HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"fragment in target", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"fragment in query", "GET /a?q=1#b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"fragment in absolute-form", "GET http://h/a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"lone % in path", "GET /a% HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"% with one digit in path", "GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"% with non-hex in path", "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"% with non-hex second digit", "GET /%2g/x HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"bad % in absolute-form path", "GET http://h/%x1 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"asterisk with GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
      {"PRI asterisk in HTTP/1.1", "PRI * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"PRI asterisk in HTTP/1.2", "PRI * HTTP/1.2\r\nHost: h\r\n\r\n", 400},
      {"PRI asterisk in HTTP/3.0", "PRI * HTTP/3.0\r\nHost: h\r\n\r\n", 505},
      {"authority-form with GET", "GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"CONNECT with origin-form", "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"CONNECT without port", "CONNECT example.com HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"CONNECT IPv6 without port", "CONNECT [::1] HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"unsupported scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"absolute-form empty host", "GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"absolute-form userinfo", "GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"long target is 414", "GET /" + repeat('a', 60) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414, small},
      {"long method is 501 (longer than any implemented)", repeat('M', 60) + " / HTTP/1.1\r\nHost: h\r\n\r\n", 501, small},
      {"line long only by version is 414", "GET /" + repeat('a', 30) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414, small},

      // Field lines (RFC 9112 §5, RFC 9110 §5.5).
      {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400},
      {"Transfer-Encoding SP colon", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
      {"empty field name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400},
      {"SP inside field name", "GET / HTTP/1.1\r\nHost: h\r\nX Y: v\r\n\r\n", 400},
      {"CTL in field name", "GET / HTTP/1.1\r\nHost: h\r\nX\x01Y: v\r\n\r\n", 400},
      {"non-token in field name", "GET / HTTP/1.1\r\nHost: h\r\nX(Y): v\r\n\r\n", 400},
      {"line without colon", "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400},
      {"NUL in field value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n"s, 400},
      {"CTL in field value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01" "b\r\n\r\n", 400},
      {"CTL deep in a long field value",
       "GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789abcdef\t01234\x1f" "56789abcdef\r\n\r\n", 400},
      {"NUL deep in a long field value",
       "GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789abcdefghijklmnopqrstuvwxyz\0 tail\r\n\r\n"s, 400},
      {"bare CR deep in a long field value",
       "GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789abcdefghijklmnop\rqrstuvwxyz\r\n\r\n", 400},
      {"bare LF deep in a long field value",
       "GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789abcdefghijklmnop\nqrstuvwxyz\r\n\r\n", 400},
      {"DEL in field value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", 400},
      {"bare CR in field value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400},
      {"bare CR ends field value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\r\n\r\n", 400},
      {"bare LF in field value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\nb: c\r\n\r\n", 400},
      {"bare LF ends head", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400},
      {"bare CR ends head", "GET / HTTP/1.1\r\nHost: h\r\n\rX", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},
      {"obs-fold with tab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400},
      {"obs-fold of Transfer-Encoding",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n", 400},
      {"whitespace before first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
      {"too many fields", "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", 431, two_headers},
      {"head too large", "GET / HTTP/1.1\r\nHost: h\r\nX: " + repeat('v', 200) + "\r\n\r\n", 431, small},

      // Content-Length (RFC 9110 §8.6, RFC 9112 §6.3).
      {"duplicate Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
       400},
      {"Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 400},
      {"Content-Length with sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400},
      {"Content-Length negative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
      {"Content-Length empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400},
      {"Content-Length inner space", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 400},
      {"Content-Length hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400},
      {"Content-Length overflow",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n", 400},
      {"Content-Length over max_body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n", 413},

      // Transfer-Encoding (RFC 9112 §6.1, §6.3) and the classic smuggling vectors.
      {"CL then TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE then CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400},
      {"TE xchunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 400},
      {"TE chunked then gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"TE identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 400},
      {"TE chunked then x on next line",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n", 400},
      {"TE chunked twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
      {"TE chunked twice over lines",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE empty list", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n\r\n", 400},
      {"TE chunked with parameter", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400},
      {"TE malformed coding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chun ked\r\n\r\n", 400},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE gzip then chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"TE gzip line then chunked line",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501},

      // Host (RFC 9112 §3.2).
      {"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"missing Host with absolute-form", "GET http://h/ HTTP/1.1\r\n\r\n", 400},
      {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
      {"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
      {"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
      {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
      {"Host with bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400},
      {"Host with bad pct-encoding", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400},
      {"Host with unclosed IPv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},

      // Expect (RFC 9110 §10.1.1).
      {"unknown expectation", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", 417},
      {"100-continue with junk", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, x\r\n\r\n", 417},
  };
  return cases;
}

void check_valid(const ValidCase& c, const Outcome& o) {
  BOOST_TEST(o.result == ParseResult::Complete);
  BOOST_TEST(o.method == c.method);
  BOOST_TEST(o.method_kind == c.method_kind);
  BOOST_TEST(o.target == c.target);
  BOOST_TEST(o.form == c.form);
  BOOST_TEST(o.path == c.path);
  BOOST_TEST(o.query == c.query);
  BOOST_TEST(o.version_minor == c.version_minor);
  BOOST_TEST(o.headers.size() == c.header_count);
  BOOST_TEST(o.body == c.body);
  BOOST_TEST(o.content_length == c.content_length);
  BOOST_TEST(o.keep_alive == c.keep_alive);
  BOOST_TEST(o.expect_continue == c.expect_continue);
  BOOST_TEST(o.host == c.host);
  // The head ends at its final CRLF; whatever follows is someone else's.
  const std::size_t end = c.raw.find("\r\n\r\n", c.raw.find_first_not_of("\r\n"));
  BOOST_TEST(o.head_size == end + 4);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(request_parser)

BOOST_AUTO_TEST_CASE(valid_requests_parse_in_one_block) {
  for (const ValidCase& c : valid_cases()) {
    BOOST_TEST_CONTEXT(c.name) { check_valid(c, parse_whole(c.raw)); }
  }
}

BOOST_AUTO_TEST_CASE(valid_requests_agree_at_every_split) {
  for (const ValidCase& c : valid_cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      const Outcome whole = parse_whole(c.raw);
      check_valid(c, parse_bytewise(c.raw));
      check_split_agreement(c.raw, Limits{}, whole);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejections_have_exact_status) {
  BOOST_TEST(reject_cases().size() >= 40U);
  for (const RejectCase& c : reject_cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      const Outcome o = parse_whole(c.raw, c.limits);
      BOOST_TEST(o.result == ParseResult::Error);
      BOOST_TEST(o.status == c.status);
      BOOST_TEST(!o.message.empty());
    }
  }
}

// The message names the problem the client can fix, not a symptom of it.
BOOST_AUTO_TEST_CASE(rejections_name_the_problem) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/2 connection preface"},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", "parameters on the chunked"},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip;q=1, chunked ; x\r\n\r\n", "parameters on the chunked"},
      {"GET * HTTP/1.1\r\nHost: h\r\n\r\n", "asterisk-form"},
      {"PRI * HTTP/1.1\r\nHost: h\r\n\r\n", "asterisk-form"},
      {"PRI * HTTP/3.0\r\nHost: h\r\n\r\n", "version not supported"},
  };
  for (const auto& [raw, words] : cases) {
    BOOST_TEST_CONTEXT(raw) {
      const Outcome o = parse_whole(std::string(raw));
      BOOST_TEST(o.message.find(words) != std::string::npos, o.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejections_agree_at_every_split) {
  for (const RejectCase& c : reject_cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      const Outcome whole = parse_whole(c.raw, c.limits);
      check_split_agreement(c.raw, c.limits, whole);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_byte_value_is_classified_alike_in_long_and_short_runs) {
  // Long targets and values are scanned 16 bytes at a time when the bytes are there, one
  // at a time when they arrive one by one. Put each byte value deep inside both and
  // check the two paths agree, and agree with the grammar.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const std::string pad(20, 'a');
    const std::string in_target = "GET /" + pad + c + pad + " HTTP/1.1\r\nHost: h\r\n\r\n";
    const std::string in_value = "GET / HTTP/1.1\r\nHost: h\r\nX: " + pad + c + pad + "\r\n\r\n";
    BOOST_TEST_CONTEXT("byte " << b) {
      const Outcome t = parse_whole(in_target);
      BOOST_TEST(parse_bytewise(in_target) == t);
      // Visible characters but '#' (a fragment); '%' is followed by "aa" here, an escape.
      BOOST_TEST((t.result == ParseResult::Complete) == (b >= 0x21 && b <= 0x7E && b != '#'));
      const Outcome v = parse_whole(in_value);
      BOOST_TEST(parse_bytewise(in_value) == v);
      const bool field_content = b == '\t' || (b >= 0x20 && b != 0x7F);
      BOOST_TEST((v.result == ParseResult::Complete) == field_content);
      if (!field_content) BOOST_TEST(v.status == 400);
    }
  }
}

BOOST_AUTO_TEST_CASE(header_fields_are_views_with_ows_trimmed) {
  const std::string raw =
      "GET / HTTP/1.1\r\nHost:  h \r\nX-A:\tone two\t \r\nx-a: second\r\nX-Empty:\r\n\r\n";
  RequestParser parser{Limits{}};
  BOOST_REQUIRE(parser.parse(raw) == ParseResult::Complete);
  const RequestHead& h = parser.head();
  BOOST_REQUIRE(h.headers.size() == 4U);
  BOOST_TEST(h.headers[0].name == "Host");
  BOOST_TEST(h.headers[0].value == "h");
  BOOST_TEST(h.headers[1].name == "X-A");
  BOOST_TEST(h.headers[1].value == "one two");
  BOOST_TEST(h.headers[3].value == "");
  // Views point into the caller's bytes: zero-copy.
  BOOST_TEST(same_address(h.headers[1].value.data(), raw.data() + raw.find("one")));
  BOOST_TEST(h.find("x-A").value_or("none") == "one two");  // first of two, any case
  BOOST_TEST(h.find("HOST").value_or("none") == "h");
  BOOST_TEST(h.find("x-empty").has_value());
  BOOST_TEST(!h.find("missing").has_value());
  BOOST_TEST(h.host == "h");
}

BOOST_AUTO_TEST_CASE(bytes_after_the_head_are_left_alone) {
  // Garbage after the head (a body, or a broken next request) does not affect it.
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
  const std::string raw = head + "\0\r\n\x01garbage"s;
  const Outcome whole = parse_whole(raw);
  BOOST_TEST(whole.result == ParseResult::Complete);
  BOOST_TEST(whole.head_size == head.size());
  BOOST_TEST(parse_bytewise(raw) == whole);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_found_by_head_size) {
  const std::string first = "POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  const std::string second = "GET /two?x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  const std::string third = "\r\nGET /three HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string raw = first + second + third;

  RequestParser parser{Limits{}};
  std::string_view rest = raw;
  BOOST_REQUIRE(parser.parse(rest) == ParseResult::Complete);
  BOOST_TEST(parser.head().path == "/one");
  const Header* storage = parser.head().headers.data();
  rest.remove_prefix(parser.head_size() + parser.head().content_length);

  parser.reset();
  BOOST_REQUIRE(parser.parse(rest) == ParseResult::Complete);
  BOOST_TEST(parser.head().path == "/two");
  BOOST_TEST(parser.head().query == "x");
  BOOST_TEST(!parser.head().keep_alive);
  // reset() reuses the header storage allocated in the constructor.
  BOOST_TEST(parser.head().headers.data() == storage);
  rest.remove_prefix(parser.head_size());

  parser.reset();
  BOOST_REQUIRE(parser.parse(rest) == ParseResult::Complete);
  BOOST_TEST(parser.head().path == "/three");
  BOOST_TEST(parser.head_size() == rest.size());  // the leading CRLF counts as part of the head
}

// The connection evaluates a handler's response against preconditions only when the
// head has one: the flag must see each of the four fields, in any case, and nothing else.
BOOST_AUTO_TEST_CASE(precondition_fields_are_flagged) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"If-Match: \"a\"", true},
      {"if-none-match: *", true},
      {"IF-MODIFIED-SINCE: Sun, 06 Nov 1994 08:49:37 GMT", true},
      {"If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT", true},
      {"If-Range: \"a\"", false},  // consulted only with Range, by static files
      {"If-Matches: x", false},
      {"X-If-Match: x", false},
      {"Accept: */*", false},
  };
  for (const auto& [field, flagged] : cases) {
    RequestParser parser{Limits{}};
    const std::string req = "GET / HTTP/1.1\r\nHost: h\r\n" + field + "\r\n\r\n";
    BOOST_TEST_REQUIRE((parser.parse(req) == ParseResult::Complete), field);
    BOOST_TEST(parser.head().has_preconditions == flagged, field);
    parser.reset();
    BOOST_TEST_REQUIRE((parser.parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n") == ParseResult::Complete));
    BOOST_TEST(!parser.head().has_preconditions, "after reset, from " << field);
  }
}

BOOST_AUTO_TEST_CASE(field_names_the_parser_acts_on_match_in_any_case_and_nothing_else) {
  // Each name the parser acts on, with a value whose effect shows in the head. Every byte
  // of the name is replaced in turn by every tchar: the field must count as that name
  // exactly when the replacement is the same letter in either case.
  struct Known {
    std::string name;
    std::string value;
    bool (*acted_on)(const RequestHead&);
  };
  const std::vector<Known> known = {
      {"host", "example.org", [](const RequestHead& h) { return h.host == "example.org"; }},
      {"expect", "100-continue", [](const RequestHead& h) { return h.expect_continue; }},
      {"connection", "close", [](const RequestHead& h) { return !h.keep_alive; }},
      {"content-length", "0", [](const RequestHead& h) { return h.body == BodyKind::Length; }},
      {"transfer-encoding", "chunked", [](const RequestHead& h) { return h.body == BodyKind::Chunked; }},
      {"if-modified-since", "x", [](const RequestHead& h) { return h.has_preconditions; }},
      {"if-match", "*", [](const RequestHead& h) { return h.has_preconditions; }},
      {"if-none-match", "*", [](const RequestHead& h) { return h.has_preconditions; }},
      {"if-unmodified-since", "x", [](const RequestHead& h) { return h.has_preconditions; }},
  };
  const std::string tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  int acted = 0;
  for (const Known& k : known) {
    for (std::size_t at = 0; at < k.name.size(); ++at) {
      for (const char b : tchars) {
        std::string name = k.name;
        name[at] = b;
        // Host is required: a variant of it leaves the request without one (400).
        const std::string host_line = k.name == "host" ? "" : "Host: h\r\n";
        const std::string req = "GET / HTTP/1.1\r\n" + host_line + name + ": " + k.value + "\r\n\r\n";
        const Outcome o = parse_whole(req);
        const bool same = lower(b) == k.name[at];
        BOOST_TEST_CONTEXT(name) {
          if (k.name == "host" && !same) {
            BOOST_TEST(o.status == 400);
            BOOST_TEST(o.message == "missing Host header");
            continue;
          }
          RequestParser parser{Limits{}};
          BOOST_TEST_REQUIRE((parser.parse(req) == ParseResult::Complete));
          BOOST_TEST(k.acted_on(parser.head()) == same);
          acted += same ? 1 : 0;
        }
      }
    }
  }
  // Each byte of each name matched in two cases (one for '-'): the cases ran.
  BOOST_TEST(acted > 200);
}

BOOST_AUTO_TEST_CASE(each_request_s_host_is_checked_even_after_a_valid_one) {
  // Parsers remember the last valid Host of their thread to skip checking an equal one
  // again: a different value, however close, is checked in full, whichever parser (here
  // one reused and a fresh one in turn) saw the valid one.
  RequestParser reused{Limits{}};
  bool fresh = false;
  const auto host_of = [&](const std::string& value) {
    fresh = !fresh;
    RequestParser other{Limits{}};
    RequestParser& parser = fresh ? other : reused;
    parser.reset();
    const std::string req = "GET / HTTP/1.1\r\nHost: " + value + "\r\n\r\n";
    const ParseResult r = parser.parse(req);
    return r == ParseResult::Complete ? std::string(parser.head().host) : "error " + std::to_string(parser.error().status);
  };
  const std::string long_host(31, 'a');  // with ".b": 33 bytes, more than the parser keeps
  const std::vector<std::pair<std::string, std::string>> sequence = {
      {"", ""},  // an empty Host is valid (RFC 9110 §7.2)
      {"", ""},
      {"example.org:80", "example.org:80"},
      {"example.org:80", "example.org:80"},
      {"example.org:8x", "error 400"},
      {"example.org:80", "example.org:80"},
      {"example.org@80", "error 400"},
      {"exam ple.org:80", "error 400"},
      {long_host + ".b", long_host + ".b"},
      {long_host + ".b", long_host + ".b"},
      {long_host + "@b", "error 400"},
      {long_host + "b", long_host + "b"},  // 32 bytes: kept
      {long_host + "b", long_host + "b"},
      {long_host + "@", "error 400"},
      {"[::1]:8080", "[::1]:8080"},
      {"[::1]:8080", "[::1]:8080"},
      {"[::1:8080", "error 400"},
  };
  for (const auto& [value, expected] : sequence) BOOST_TEST(host_of(value) == expected, value);
}

BOOST_AUTO_TEST_CASE(results_are_sticky_until_reset) {
  RequestParser parser{Limits{}};
  const std::string good = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  BOOST_TEST(parser.parse(good) == ParseResult::Complete);
  // Called again with the bytes at a new address, the head follows them.
  const std::string moved = good + "next";
  BOOST_TEST(parser.parse(moved) == ParseResult::Complete);
  BOOST_TEST(same_address(parser.head().target.data(), moved.data() + 4));

  parser.reset();
  BOOST_TEST(parser.parse("GET / HTTP/9.9\r\n") == ParseResult::Error);
  BOOST_TEST(parser.error().status == 505);
  BOOST_TEST(parser.parse("GET / HTTP/9.9\r\nHost: h\r\n\r\n") == ParseResult::Error);
  parser.reset();
  BOOST_TEST(parser.parse(good) == ParseResult::Complete);
  BOOST_TEST(parser.error().status == 0);
}

BOOST_AUTO_TEST_CASE(field_views_follow_the_bytes_when_the_buffer_moves) {
  // The connection may move the head between calls (compaction, growth): fields parsed
  // before the move must point into the new bytes afterwards, and again after Complete.
  const std::string raw = "GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nX-Late: yes\r\n\r\n";
  const std::size_t cut = raw.find("X-Late");
  RequestParser parser{Limits{}};
  auto first = std::make_unique<std::string>(raw.substr(0, cut));
  BOOST_REQUIRE(parser.parse(*first) == ParseResult::NeedMore);
  first->assign(first->size(), '#');  // the old bytes are gone
  for (const std::string& at : {raw, raw + "next"}) {
    BOOST_REQUIRE(parser.parse(at) == ParseResult::Complete);
    const auto& fields = parser.head().headers;
    BOOST_REQUIRE(fields.size() == 3u);
    const std::string_view names[] = {"Host", "Accept", "X-Late"};
    const std::string_view values[] = {"h", "*/*", "yes"};
    for (std::size_t k = 0; k < 3; ++k) {
      BOOST_TEST(fields[k].name == names[k]);
      BOOST_TEST(fields[k].value == values[k]);
      BOOST_TEST(same_address(fields[k].name.data(), at.data() + raw.find(names[k])));
    }
    BOOST_TEST(same_address(parser.head().host.data(), at.data() + raw.find("h\r\nAccept")));
  }
}

BOOST_AUTO_TEST_CASE(need_more_until_the_final_crlf) {
  const std::string raw = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  for (std::size_t n = 0; n < raw.size(); ++n) {
    RequestParser parser{Limits{}};
    BOOST_TEST(parser.parse(std::string_view(raw).substr(0, n)) == ParseResult::NeedMore);
  }
}

BOOST_AUTO_TEST_CASE(limits_are_inclusive) {
  Limits l;
  l.max_headers = 3;
  const std::string three = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
  BOOST_TEST(parse_whole(three, l).result == ParseResult::Complete);
  BOOST_TEST(parse_whole("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", l).status == 431);

  // A head of exactly max_header_bytes is fine; one byte more is 431.
  Limits b;
  b.max_header_bytes = three.size();
  BOOST_TEST(parse_whole(three, b).result == ParseResult::Complete);
  b.max_header_bytes = three.size() - 1;
  BOOST_TEST(parse_whole(three, b).status == 431);

  // A request line of exactly max_request_line (CRLF excluded) is fine.
  const std::string line = "GET /abcdef HTTP/1.1";
  Limits r;
  r.max_request_line = line.size();
  BOOST_TEST(parse_whole(line + "\r\nHost: h\r\n\r\n", r).result == ParseResult::Complete);
  r.max_request_line = line.size() - 1;
  BOOST_TEST(parse_whole(line + "\r\nHost: h\r\n\r\n", r).status == 414);  // too long only by the version
  r.max_request_line = 8;
  BOOST_TEST(parse_whole(line + "\r\nHost: h\r\n\r\n", r).status == 414);  // still in the target
}

BOOST_AUTO_TEST_CASE(oversize_heads_fail_without_waiting_for_more) {
  // 431 as soon as the limit is crossed, not when the head finally ends.
  Limits l;
  l.max_header_bytes = 64;
  std::string partial = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  partial += repeat('v', 64 - partial.size());
  RequestParser parser(l);
  BOOST_TEST(parser.parse(std::string_view(partial).substr(0, 63)) == ParseResult::NeedMore);
  BOOST_TEST(parser.parse(partial) == ParseResult::Error);
  BOOST_TEST(parser.error().status == 431);

  // Same for a target that never ends.
  Limits t;
  t.max_request_line = 32;
  RequestParser parser2(t);
  const std::string target = "GET /" + repeat('a', 40);
  BOOST_TEST(parser2.parse(target) == ParseResult::Error);
  BOOST_TEST(parser2.error().status == 414);
}

BOOST_AUTO_TEST_CASE(errors_are_found_as_soon_as_the_byte_arrives) {
  // The parser answers from what it has; a smuggling attempt does not hold the
  // connection open waiting for the rest of the head.
  const std::vector<std::pair<std::string, int>> prefixes = {
      {"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding : chunked", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n", 400},
      {"GET / HTTP/1.1\r\nX: a\r\n folded", 400},
      {"GET / HTTP/2.0\r", 505},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n", 400},
  };
  for (const auto& [raw, status] : prefixes) {
    BOOST_TEST_CONTEXT(raw) {
      RequestParser parser{Limits{}};
      BOOST_TEST(parser.parse(raw) == ParseResult::Error);
      BOOST_TEST(parser.error().status == status);
    }
  }
}

BOOST_AUTO_TEST_CASE(long_heads_are_linear_across_many_calls) {
  // Many small appends to a large head: each call resumes, so the total work stays
  // linear. This also exercises offsets past 64 KiB of limits set high.
  Limits l;
  l.max_header_bytes = 1 << 20;
  l.max_headers = 5000;
  std::string raw = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int k = 0; k < 4000; ++k) raw += "X-Field-" + std::to_string(k) + ": value " + std::to_string(k) + "\r\n";
  raw += "\r\n";
  RequestParser parser(l);
  ParseResult r = ParseResult::NeedMore;
  for (std::size_t n = 7; r == ParseResult::NeedMore; n = std::min(n + 7, raw.size())) {
    r = parser.parse(std::string_view(raw).substr(0, n));
  }
  BOOST_REQUIRE(r == ParseResult::Complete);
  BOOST_TEST(parser.head().headers.size() == 4001U);
  BOOST_TEST(parser.head().find("x-field-3999").value_or("") == "value 3999");
}

BOOST_AUTO_TEST_CASE(a_list_field_on_several_lines_reads_as_one_list) {
  RequestParser parser{Limits{}};
  const std::string raw =
      "GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nX-One: v\r\naccept: b, c\r\nX-Empty:\r\nACCEPT: d\r\n\r\n";
  BOOST_REQUIRE(parser.parse(raw) == ParseResult::Complete);
  std::string joined;
  BOOST_TEST(parser.head().find_list("Accept", joined).value() == "a, b, c, d");  // RFC 9110 §5.3
  std::string single;
  BOOST_TEST(parser.head().find_list("x-one", single).value() == "v");
  BOOST_TEST(single.empty());  // one line: a view into the request, nothing built
  BOOST_TEST(parser.head().find_list("X-Empty", single).value() == "");
  BOOST_TEST(!parser.head().find_list("X-None", single).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_parser_tests
