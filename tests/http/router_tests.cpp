// Router::match on its own (the server tests reach it through requests): exact paths
// among many, first-added wins, HEAD served by GET, "*" for any method, and the statuses
// of a miss. No backend is involved.
#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "hellepoll/http/router.hpp"

namespace http_router_tests {

using namespace hellepoll;
using namespace hellepoll::http;

namespace {

Handler answer(std::string text) {
  return [text](Request&) -> Task<Response> { co_return Response::text(text); };
}

// The pattern of the route a request reaches, or "<status>" when none does.
std::string routed(const Router& r, std::string_view method, std::string_view path) {
  std::vector<std::pair<std::string, std::string>> params;
  const Router::Match m = r.match(method, path, params);
  return m.route ? m.route->method + " " + m.route->pattern : "<" + std::to_string(m.status) + ">";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(router)

// A regex route is matched without recursing per byte of the path: a long path (the
// request-line limit can be raised) against a pattern with nested alternatives answered
// before; a backtracking matcher overflowed an 8 MB stack at 7 KB here. Back-references,
// which only backtracking can match, are refused when the route is added.
BOOST_AUTO_TEST_CASE(a_regex_route_matches_long_paths_without_exhausting_the_stack) {
  Router r;
  r.add_regex("GET", "/((a|b)|(c|d))*", answer("re"));
  const std::string long_path = "/" + std::string(200'000, 'a');
  BOOST_TEST(routed(r, "GET", long_path) == "GET /((a|b)|(c|d))*");
  BOOST_TEST(routed(r, "GET", long_path + "x") == "<404>");
  BOOST_CHECK_THROW(r.add_regex("GET", R"(/([a-z]+)/\1)", answer("backref")), std::regex_error);
}

BOOST_AUTO_TEST_CASE(exact_paths_among_many_of_every_length) {
  Router r;
  // Registered out of order, with paths of equal length that differ in one byte, and
  // prefixes of one another: every one is found, and no near miss is.
  const std::vector<std::string> paths = {"/b", "/a", "/", "/ab", "/aa", "/a/", "/zz", "/users", "/usert",
                                          "/user", "/a/b/c", "/A"};
  for (const auto& p : paths) r.get(p, answer(p));
  for (const auto& p : paths) BOOST_TEST(routed(r, "GET", p) == "GET " + p);
  for (std::string_view miss : {"/c", "/abc", "/a/b", "/userz", "/users/", "//", "/B", "/a/b/c/"})
    BOOST_TEST(routed(r, "GET", miss) == "<404>", miss);
}

// Patterns are put in the form requests are routed by (route_path): a pattern spelt with
// escapes, dot segments or doubled slashes still matches the requests meant for it.
BOOST_AUTO_TEST_CASE(patterns_are_routed_in_normal_form) {
  Router r;
  r.get("/caf%c3%a9", answer("1"));
  r.get("/a//b/./c/../d/*", answer("2"));
  r.get("/c%2B%2b/{id}", answer("3"));
  BOOST_TEST(routed(r, "GET", "/caf\xC3\xA9") == "GET /caf%c3%a9");
  BOOST_TEST(routed(r, "GET", "/a/b/d/x") == "GET /a//b/./c/../d/*");
  BOOST_TEST(routed(r, "GET", "/c++/7") == "GET /c%2B%2b/{id}");
  for (const char* bad : {"/../x", "/a%zz", "/a%4"})
    BOOST_CHECK_THROW(r.get(bad, answer("x")), std::invalid_argument);
}

// Request::param promises that an empty value means the route has no such parameter: a
// {parameter} never matches an empty segment, so "/users/" and "/users//posts" are not
// routed to a handler that would read an empty id.
BOOST_AUTO_TEST_CASE(a_parameter_never_matches_an_empty_segment) {
  Router r;
  r.get("/users/{id}", answer("user"));
  r.get("/users/{id}/posts", answer("posts"));
  r.get("/{a}/{b}", answer("pair"));
  for (std::string_view miss : {"/users/", "/users//posts", "//x", "/x/", "/"})
    BOOST_TEST(routed(r, "GET", miss) == "<404>", miss);
  std::vector<std::pair<std::string, std::string>> params;
  BOOST_REQUIRE(r.match("GET", "/users/%41/posts", params).route);
  BOOST_TEST(params.size() == 1u);
  BOOST_TEST(params[0].first == "id");
  BOOST_TEST(params[0].second == "A");
}

// A segment that does not decode is no value for a parameter: no match (here the next
// route, or 404), never the route with that parameter missing (helper-34's fuzzer).
BOOST_AUTO_TEST_CASE(a_parameter_never_matches_a_segment_that_does_not_decode) {
  Router r;
  r.get("/u/{a}/{b}", answer("pair"));
  for (std::string_view miss : {"/u/x/%zz", "/u/%4/y", "/u/%/y"})
    BOOST_TEST(routed(r, "GET", miss) == "<404>", miss);
  r.get("/u/*", answer("any"));
  BOOST_TEST(routed(r, "GET", "/u/x/%zz") == "GET /u/*");
  std::vector<std::pair<std::string, std::string>> params;
  BOOST_REQUIRE(r.match("GET", "/u/x/%7A", params).route);
  BOOST_TEST(params.size() == 2u);
  BOOST_TEST(params[1].second == "z");
}

BOOST_AUTO_TEST_CASE(one_path_several_methods_first_added_wins) {
  Router r;
  r.post("/x", answer("post"));
  r.get("/x", answer("get"));
  r.add("*", "/x", answer("any"));
  BOOST_CHECK_THROW(r.get("/x", answer("second get")), std::invalid_argument);  // see below
  std::vector<std::pair<std::string, std::string>> params{{"stale", "value"}};
  const Router::Match get = r.match("GET", "/x", params);
  BOOST_REQUIRE(get.route);
  BOOST_TEST(get.route->method == "GET");
  BOOST_TEST(params.empty());  // a match leaves no parameters of an earlier request
  BOOST_TEST(routed(r, "POST", "/x") == "POST /x");
  BOOST_TEST(routed(r, "HEAD", "/x") == "GET /x");   // HEAD is served by GET, the first
  BOOST_TEST(routed(r, "DELETE", "/x") == "* /x");   // anything else by "*"
  BOOST_TEST(routed(r, "BREW", "/x") == "* /x");
}

// What could never match as it reads is refused when added, with the reason: it used to be
// accepted and then never matched ("{x}.json", a query, "*" mid-path, "get") or shadowed
// by an earlier route (added twice, or with another parameter name).
BOOST_AUTO_TEST_CASE(patterns_that_could_never_match_are_refused) {
  Router r;
  r.get("/a/{x}", answer("a"));
  r.get("/f/{name-1.x}/more", answer("f"));  // any name without braces
  r.get("/lit/a*b", answer("literal star"));  // a '*' inside a segment is a '*'
  r.get("/pre/*", answer("prefix"));
  r.add("BREW", "/pot", answer("brew"));
  const std::pair<std::string, std::string> refused[] = {
      {"GET", "/f/{x}.json"}, {"GET", "/q?x=1"},   {"GET", "/mid/*/x"},  {"GET", "/g/{}"},
      {"GET", "/h/{x}/{x}"},  {"GET", "/u/{id}/*"}, {"GET", "/b/{x}y}"}, {"GET", "/a/{z}"},
      {"GET", "/a/{x}"},      {"get", "/lower"},   {"G ET", "/space"},   {"", "/empty"},
      {"GET", "no-slash"},    {"GET", "/c/{open"}, {"BREW", "/pot"}};
  for (const auto& [method, pattern] : refused)
    BOOST_CHECK_THROW(r.add(method, pattern, answer("x")), std::invalid_argument);
  try {
    r.get("/q?x=1", answer("x"));
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()) == "route pattern /q?x=1: a query or fragment is not part of a path");
  }
  // Still fine: the same path for another method, another shape, a custom method.
  r.post("/a/{x}", answer("post a"));
  r.get("/a/{x}/more", answer("more"));
  r.add("brew", "/pot", answer("lower-case custom methods are methods too"));
  BOOST_TEST(routed(r, "GET", "/a/1") == "GET /a/{x}");
  BOOST_TEST(routed(r, "GET", "/f/7/more") == "GET /f/{name-1.x}/more");
  BOOST_TEST(routed(r, "GET", "/lit/a*b") == "GET /lit/a*b");
  BOOST_TEST(routed(r, "GET", "/pre/x/y") == "GET /pre/*");
  BOOST_TEST(routed(r, "POST", "/a/1") == "POST /a/{x}");
}

BOOST_AUTO_TEST_CASE(misses_are_404_405_or_501) {
  Router r;
  r.get("/only-get", answer("g"));
  r.post("/only-post", answer("p"));
  std::vector<std::pair<std::string, std::string>> params;
  const Router::Match wrong_method = r.match("PUT", "/only-get", params);
  BOOST_TEST(!wrong_method.route);
  BOOST_TEST(wrong_method.status == 405);
  BOOST_TEST(wrong_method.allow == "GET, HEAD");
  BOOST_TEST(r.match("HEAD", "/only-post", params).allow == "POST");
  BOOST_TEST(routed(r, "GET", "/nothing") == "<404>");
  BOOST_TEST(routed(r, "BREW", "/only-get") == "<501>");
  BOOST_TEST(routed(r, "GET", "") == "<404>");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_router_tests
