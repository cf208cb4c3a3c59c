#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hellepoll/http/path.hpp"

namespace http_path_tests {

using namespace hellepoll::http;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

bool refused(std::string_view raw) { return !normalize_request_path(raw).has_value(); }

// The relative path, or "<refused>", so a failing check prints something readable.
std::string rel_of(std::string_view raw) {
  auto n = normalize_request_path(raw);
  return n ? n->rel : "<refused>"s;
}

bool slash_of(std::string_view raw) { return normalize_request_path(raw).value().trailing_slash; }

}  // namespace

BOOST_AUTO_TEST_SUITE(request_path)

// The form requests are routed by (RFC 3986 §6.2.2 and §5.2.4, empty segments merged).
BOOST_AUTO_TEST_CASE(route_path_is_the_normal_form) {
  const std::vector<std::pair<std::string_view, std::string_view>> cases{
      {"/", "/"},
      {"/a/b", "/a/b"},
      {"/a/b/", "/a/b/"},
      {"//", "/"},
      {"//a//b//", "/a/b/"},
      {"/./a/./b/.", "/a/b/"},
      {"/a/b/..", "/a/"},
      {"/a/..", "/"},
      {"/a/b/../../c", "/c"},
      {"/a/..b/.../c.", "/a/..b/.../c."},  // names, not dot segments
      {"/%61%44%2d%2e%5f%7e", "/aD-._~"},
      {"/c%2B%2b/%21%20%c3%a9%3f%5c", "/c++/! \xC3\xA9?\\"},  // every escape decoded, but:
      {"/%2f%2F%25%00%0a%7f", "/%2F%2F%25%00%0A%7F"},  // '/', '%' and controls: kept, upper-case
      {"/%2e%2E/", "<none>"},
      {"/x/%2e/%2e%2e/y", "/y"},
      {"/%252e%252e", "/%252e%252e"},  // one decode: "%25" stays, no new '%' appears
      {"/..", "<none>"},
      {"/../a", "<none>"},
      {"/a/../..", "<none>"},
      {"/a%", "<none>"},
      {"/a%4", "<none>"},
      {"/a%zz", "<none>"},
      {"*", "*"},
  };
  for (const auto& [in, want] : cases) {
    const auto got = route_path(in);
    BOOST_TEST((got ? *got : "<none>"s) == want, in);
    // The one-scan test never passes a path the full one would change.
    if (is_route_path(in)) BOOST_TEST((got && *got == in), in);
  }
  for (std::string_view already : {"/", "/a", "/a/", "/a.b/c..d/.e", "/a/b/c/", "*"}) BOOST_TEST(is_route_path(already));
  for (std::string_view not_yet : {"//", "/a//", "/.", "/a/.", "/a/..", "/./a", "/../", "/%41"})
    BOOST_TEST(!is_route_path(not_yet), not_yet);
}

BOOST_AUTO_TEST_CASE(percent_decode_once) {
  BOOST_TEST(percent_decode("a%20b").value() == "a b");
  BOOST_TEST(percent_decode("%41%6a%6A").value() == "Ajj");
  BOOST_TEST(percent_decode("a+b").value() == "a+b");  // '+' is only a space in form data
  BOOST_TEST(percent_decode("%252e").value() == "%2e");
  BOOST_TEST(percent_decode("%00").value() == "\0"s);  // decoding is not policy
  BOOST_TEST(percent_decode("").value() == "");
}

BOOST_AUTO_TEST_CASE(percent_decode_refuses_malformed_escapes) {
  BOOST_TEST(!percent_decode("%"));
  BOOST_TEST(!percent_decode("%4"));
  BOOST_TEST(!percent_decode("ab%4"));
  BOOST_TEST(!percent_decode("%zz"));
  BOOST_TEST(!percent_decode("%g0"));
  BOOST_TEST(!percent_decode("%0g"));
  BOOST_TEST(!percent_decode("% 41"));
}

BOOST_AUTO_TEST_CASE(plain_paths) {
  BOOST_TEST(rel_of("/") == "");
  BOOST_TEST(slash_of("/"));
  BOOST_TEST(rel_of("/index.html") == "index.html");
  BOOST_TEST(!slash_of("/index.html"));
  BOOST_TEST(rel_of("/a/b/c.txt") == "a/b/c.txt");
  BOOST_TEST(rel_of("/a/b/") == "a/b");
  BOOST_TEST(slash_of("/a/b/"));
  BOOST_TEST(rel_of("/caf%C3%A9.txt") == "caf\xC3\xA9.txt");  // UTF-8 names pass through
  BOOST_TEST(rel_of("/sp%20ace") == "sp ace");
  BOOST_TEST(rel_of("/a+b") == "a+b");
  BOOST_TEST(rel_of("/...") == "...");  // an ordinary file name on Linux
  BOOST_TEST(rel_of("/..a") == "..a");
  BOOST_TEST(rel_of("/a..") == "a..");
  BOOST_TEST(rel_of("/.hidden") == ".hidden");
}

BOOST_AUTO_TEST_CASE(empty_and_dot_segments_collapse) {
  BOOST_TEST(rel_of("//") == "");
  BOOST_TEST(slash_of("//"));
  BOOST_TEST(rel_of("//a//b") == "a/b");
  BOOST_TEST(rel_of("/./a/./b") == "a/b");
  BOOST_TEST(rel_of("/a/.") == "a");
  BOOST_TEST(slash_of("/a/."));  // "/a/." is the directory "/a/" (RFC 3986 §5.2.4)
  BOOST_TEST(rel_of("/.") == "");
  BOOST_TEST(rel_of("/a/%2e/b") == "a/b");
  BOOST_TEST(rel_of("/a/b//") == "a/b");
  BOOST_TEST(slash_of("/a/b//"));
  BOOST_TEST(!slash_of("//a//b"));
}

BOOST_AUTO_TEST_CASE(must_start_with_slash) {
  BOOST_TEST(refused(""));
  BOOST_TEST(refused("index.html"));
  BOOST_TEST(refused("*"));
  BOOST_TEST(refused("http://example.com/"));
  BOOST_TEST(refused("%2fetc/passwd"));
}

BOOST_AUTO_TEST_CASE(dot_dot_above_the_root_is_refused_however_written) {
  BOOST_TEST(refused("/../etc/passwd"));
  BOOST_TEST(refused("/.."));
  BOOST_TEST(refused("/../"));
  BOOST_TEST(refused("/a/../../x"));
  BOOST_TEST(refused("/a/b/../../../x"));
  BOOST_TEST(refused("/%2e%2e/x"));
  BOOST_TEST(refused("/%2E%2e/"));
  BOOST_TEST(refused("/.%2e/"));
  BOOST_TEST(refused("/%2e./x"));
  BOOST_TEST(refused("/a/%2e%2e/%2e%2e"));
  BOOST_TEST(refused("//..//x"));
  BOOST_TEST(refused("/a/./../.."));
}

BOOST_AUTO_TEST_CASE(dot_dot_inside_the_root_removes_the_segment_before_it) {
  BOOST_TEST(rel_of("/a/../b") == "b");  // RFC 3986 §5.2.4, as nginx serves it
  BOOST_TEST(!slash_of("/a/../b"));
  BOOST_TEST(rel_of("/a/b/..") == "a");
  BOOST_TEST(slash_of("/a/b/.."));  // names the directory "/a/"
  BOOST_TEST(rel_of("/a/b/../") == "a");
  BOOST_TEST(rel_of("/a/..") == "");
  BOOST_TEST(slash_of("/a/.."));
  BOOST_TEST(rel_of("/a/b/%2e%2e/c") == "a/c");
  BOOST_TEST(rel_of("/a//b/../c") == "a/c");
  BOOST_TEST(rel_of("/a/b/./../../c") == "c");
  BOOST_TEST(rel_of("/a/b/c/../../d/e") == "a/d/e");
  BOOST_TEST(rel_of("/a/..b/../c") == "a/c");  // "..b" is a name like any other
}

BOOST_AUTO_TEST_CASE(encoded_separators_are_refused) {
  BOOST_TEST(refused("/%2e%2e%2fetc"));
  BOOST_TEST(refused("/a%2fb"));
  BOOST_TEST(refused("/a%2Fb"));
  BOOST_TEST(refused("/a%5c..%5cb"));
  BOOST_TEST(refused("/a%5Cb"));
  BOOST_TEST(refused("/..\\x"));
  BOOST_TEST(refused("/a\\b"));
}

BOOST_AUTO_TEST_CASE(nul_and_control_characters_are_refused) {
  BOOST_TEST(refused("/a%00b"));
  BOOST_TEST(refused("/a%00"));
  BOOST_TEST(refused("/a\0b"sv));
  BOOST_TEST(refused("/a%0ab"));
  BOOST_TEST(refused("/a%0Db"));
  BOOST_TEST(refused("/a%09b"));
  BOOST_TEST(refused("/a%7fb"));
  BOOST_TEST(refused("/a\nb"));
  BOOST_TEST(refused("/a\x1b"));
}

BOOST_AUTO_TEST_CASE(malformed_escapes_are_refused) {
  BOOST_TEST(refused("/%"));
  BOOST_TEST(refused("/%g0"));
  BOOST_TEST(refused("/%4"));
  BOOST_TEST(refused("/a%zz"));
  BOOST_TEST(refused("/a%2"));
}

BOOST_AUTO_TEST_CASE(double_encoding_stays_literal) {
  // Decoded once, "%252e%252e" is the file name "%2e%2e", not a parent directory.
  BOOST_TEST(rel_of("/%252e%252e/x") == "%2e%2e/x");
  BOOST_TEST(rel_of("/%252e%252e%252fetc") == "%2e%2e%2fetc");
  BOOST_TEST(rel_of("/a%255cb") == "a%5cb");
  BOOST_TEST(rel_of("/%2500") == "%00");
}

BOOST_AUTO_TEST_CASE(html_escape_covers_the_five) {
  BOOST_TEST(html_escape("plain") == "plain");
  BOOST_TEST(html_escape("") == "");
  BOOST_TEST(html_escape("<script>alert('x')&\"</script>") ==
             "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;");
  BOOST_TEST(html_escape("caf\xC3\xA9") == "caf\xC3\xA9");
}

BOOST_AUTO_TEST_CASE(percent_encode_segment) {
  BOOST_TEST(percent_encode_path_segment("abc-._~XYZ09") == "abc-._~XYZ09");
  BOOST_TEST(percent_encode_path_segment("a b") == "a%20b");
  BOOST_TEST(percent_encode_path_segment("a/b?c#d%e") == "a%2Fb%3Fc%23d%25e");
  BOOST_TEST(percent_encode_path_segment("a:b") == "a%3Ab");
  BOOST_TEST(percent_encode_path_segment("caf\xC3\xA9") == "caf%C3%A9");
  BOOST_TEST(percent_encode_path_segment("\"<'>") == "%22%3C%27%3E");
  BOOST_TEST(percent_encode_path_segment("") == "");
}

// What a URI's query may hold stays (escapes too); what the parser lets through beside it
// ('"', '<', '>', '\\', '^', '`', '{', '|', '}', a lone '%', bytes >= 0x80) is escaped.
BOOST_AUTO_TEST_CASE(percent_encode_query_keeps_uri_bytes_and_escapes_the_rest) {
  BOOST_TEST(percent_encode_query("a=1&b=x%20y;c=/d?e:f@g!$'()*+,~-._") == "a=1&b=x%20y;c=/d?e:f@g!$'()*+,~-._");
  BOOST_TEST(percent_encode_query("q=<x>\"\\^`{|}") == "q=%3Cx%3E%22%5C%5E%60%7B%7C%7D");
  BOOST_TEST(percent_encode_query("p=50%&z=%4") == "p=50%25&z=%254");
  BOOST_TEST(percent_encode_query("caf\xC3\xA9") == "caf%C3%A9");
  BOOST_TEST(percent_encode_query("") == "");
}

BOOST_AUTO_TEST_CASE(encode_then_normalize_round_trips) {
  for (std::string name : {"a b", "100%", "x?y#z", "caf\xC3\xA9", "%2e%2e", "semi;colon", "q\"uote"}) {
    auto n = normalize_request_path("/dir/" + percent_encode_path_segment(name));
    BOOST_TEST_REQUIRE(n.has_value());
    BOOST_TEST(n->rel == "dir/" + name);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_path_tests
