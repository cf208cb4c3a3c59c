#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "hellepoll/http/conditional.hpp"
#include "hellepoll/http/http_date.hpp"

namespace http_conditional_tests {

using namespace hellepoll::http;

namespace {

constexpr std::time_t mtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr std::string_view mtime_text = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr std::string_view earlier_text = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr std::string_view later_text = "Sun, 06 Nov 1994 08:49:38 GMT";
constexpr std::string_view tag = "\"2ebc98a1-1f4\"";  // as make_etag writes for size 500

std::string etag(std::uint64_t size, std::int64_t sec, std::uint32_t nsec) {
  ETagBuffer buf;
  return std::string(make_etag(buf, size, sec, nsec));
}

Precondition eval(ConditionalHeaders h) { return evaluate_preconditions(h, tag, mtime); }

}  // namespace

BOOST_AUTO_TEST_SUITE(conditional)

BOOST_AUTO_TEST_CASE(etag_format) {
  BOOST_TEST(etag(500, mtime, 0) == tag);  // nginx's form when there are no nanoseconds
  BOOST_TEST(etag(0, 0, 0) == "\"0-0\"");
  BOOST_TEST(etag(500, mtime, 1) == "\"2ebc98a1.1-1f4\"");
  BOOST_TEST(etag(500, mtime, 999999999) == "\"2ebc98a1.3b9ac9ff-1f4\"");
  BOOST_TEST(etag(UINT64_MAX, -1, 999999999) == "\"ffffffffffffffff.3b9ac9ff-ffffffffffffffff\"");
  BOOST_TEST(etag(UINT64_MAX, -1, 999999999).size() == etag_max);
  BOOST_TEST(etag(500, mtime, 1) != etag(500, mtime, 2));
  BOOST_TEST(etag(500, mtime, 0) != etag(501, mtime, 0));
}

BOOST_AUTO_TEST_CASE(if_none_match_uses_weak_comparison) {
  BOOST_TEST(if_none_match_matches(tag, tag));
  BOOST_TEST(if_none_match_matches("W/\"2ebc98a1-1f4\"", tag));
  BOOST_TEST(if_none_match_matches("\"2ebc98a1-1f4\"", "W/\"2ebc98a1-1f4\""));
  BOOST_TEST(if_none_match_matches("*", tag));
  BOOST_TEST(if_none_match_matches(" * ", tag));
  BOOST_TEST(!if_none_match_matches("\"other\"", tag));
  BOOST_TEST(!if_none_match_matches("\"2EBC5EA1-1F4\"", tag));  // opaque tags are case-sensitive
  BOOST_TEST(!if_none_match_matches("w/\"2ebc98a1-1f4\"", tag));  // %s"W/"
  BOOST_TEST(!if_none_match_matches("2ebc98a1-1f4", tag));  // unquoted
}

BOOST_AUTO_TEST_CASE(if_none_match_lists) {
  BOOST_TEST(if_none_match_matches("\"a\", \"2ebc98a1-1f4\"", tag));
  BOOST_TEST(if_none_match_matches("\"a\",W/\"2ebc98a1-1f4\",\"b\"", tag));
  BOOST_TEST(if_none_match_matches(" \"a\" ,\t\"2ebc98a1-1f4\" ", tag));
  BOOST_TEST(if_none_match_matches(", ,\"2ebc98a1-1f4\",,", tag));  // §5.6.1.2 empty elements
  BOOST_TEST(!if_none_match_matches("\"a\", \"b\"", tag));
  // A comma inside the quotes is part of the tag, not a separator.
  BOOST_TEST(if_none_match_matches("\"x,y\"", "\"x,y\""));
  BOOST_TEST(!if_none_match_matches("\"x,y\"", "\"x\""));
  BOOST_TEST(!if_none_match_matches("\"x,y\"", "\"y\""));
}

BOOST_AUTO_TEST_CASE(if_none_match_invalid_matches_nothing) {
  BOOST_TEST(!if_none_match_matches("", tag));
  BOOST_TEST(!if_none_match_matches("\"2ebc98a1-1f4\" garbage", tag));
  BOOST_TEST(!if_none_match_matches("\"2ebc98a1-1f4\", garbage", tag));
  BOOST_TEST(!if_none_match_matches("\"2ebc98a1-1f4", tag));  // unterminated
  BOOST_TEST(!if_none_match_matches("\"2ebc98a1 1f4\"", "\"2ebc98a1 1f4\""));  // space is not etagc
  BOOST_TEST(!if_none_match_matches("*, \"2ebc98a1-1f4\"", tag));  // "*" stands alone
  BOOST_TEST(!if_none_match_matches("W/ \"2ebc98a1-1f4\"", tag));
  BOOST_TEST(!if_none_match_matches("\"a\"\"2ebc98a1-1f4\"", tag));  // tags need a comma between them
  BOOST_TEST(!if_none_match_matches("\"a\" W/\"2ebc98a1-1f4\"", tag));
}

BOOST_AUTO_TEST_CASE(if_match_uses_strong_comparison) {
  BOOST_TEST(if_match_matches(tag, tag));
  BOOST_TEST(if_match_matches("*", tag));
  BOOST_TEST(if_match_matches("\"a\", \"2ebc98a1-1f4\"", tag));
  BOOST_TEST(!if_match_matches("W/\"2ebc98a1-1f4\"", tag));
  BOOST_TEST(!if_match_matches(tag, "W/\"2ebc98a1-1f4\""));
  BOOST_TEST(!if_match_matches("\"a\"", tag));
}

BOOST_AUTO_TEST_CASE(if_range) {
  BOOST_TEST(if_range_allows_partial(tag, tag, mtime));
  BOOST_TEST(if_range_allows_partial(" \"2ebc98a1-1f4\" ", tag, mtime));
  BOOST_TEST(!if_range_allows_partial("W/\"2ebc98a1-1f4\"", tag, mtime));  // weak never matches strongly
  BOOST_TEST(!if_range_allows_partial("\"other\"", tag, mtime));
  BOOST_TEST(!if_range_allows_partial("\"a\", \"2ebc98a1-1f4\"", tag, mtime));  // one validator, not a list
  BOOST_TEST(!if_range_allows_partial("*", tag, mtime));
  BOOST_TEST(if_range_allows_partial(mtime_text, tag, mtime));
  BOOST_TEST(if_range_allows_partial("Sunday, 06-Nov-94 08:49:37 GMT", tag, mtime));
  BOOST_TEST(if_range_allows_partial("Sun Nov  6 08:49:37 1994", tag, mtime));
  // Exact match only: a later date is not "unchanged since" for If-Range (§13.1.5).
  BOOST_TEST(!if_range_allows_partial(later_text, tag, mtime));
  BOOST_TEST(!if_range_allows_partial(earlier_text, tag, mtime));
  BOOST_TEST(!if_range_allows_partial("yesterday", tag, mtime));
  BOOST_TEST(!if_range_allows_partial("", tag, mtime));
}

BOOST_AUTO_TEST_CASE(no_conditions_proceed) { BOOST_TEST((eval({}) == Precondition::proceed)); }

BOOST_AUTO_TEST_CASE(if_none_match_gives_304) {
  BOOST_TEST((eval({.if_none_match = tag}) == Precondition::not_modified));
  BOOST_TEST((eval({.if_none_match = "*"}) == Precondition::not_modified));
  BOOST_TEST((eval({.if_none_match = "\"old\""}) == Precondition::proceed));
}

BOOST_AUTO_TEST_CASE(if_modified_since) {
  BOOST_TEST((eval({.if_modified_since = mtime_text}) == Precondition::not_modified));
  BOOST_TEST((eval({.if_modified_since = later_text}) == Precondition::not_modified));
  BOOST_TEST((eval({.if_modified_since = earlier_text}) == Precondition::proceed));
  BOOST_TEST((eval({.if_modified_since = "not a date"}) == Precondition::proceed));  // §13.1.3: ignored
  BOOST_TEST((eval({.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT"}) ==
              Precondition::proceed));
}

BOOST_AUTO_TEST_CASE(if_none_match_overrides_if_modified_since) {
  // §13.1.3: with If-None-Match present, If-Modified-Since is not looked at, either way.
  BOOST_TEST((eval({.if_none_match = "\"old\"", .if_modified_since = later_text}) == Precondition::proceed));
  BOOST_TEST((eval({.if_none_match = tag, .if_modified_since = earlier_text}) == Precondition::not_modified));
}

BOOST_AUTO_TEST_CASE(if_match_gives_412) {
  BOOST_TEST((eval({.if_match = tag}) == Precondition::proceed));
  BOOST_TEST((eval({.if_match = "*"}) == Precondition::proceed));
  BOOST_TEST((eval({.if_match = "\"old\""}) == Precondition::precondition_failed));
  BOOST_TEST((eval({.if_match = "W/\"2ebc98a1-1f4\""}) == Precondition::precondition_failed));
}

BOOST_AUTO_TEST_CASE(if_unmodified_since) {
  BOOST_TEST((eval({.if_unmodified_since = mtime_text}) == Precondition::proceed));
  BOOST_TEST((eval({.if_unmodified_since = later_text}) == Precondition::proceed));
  BOOST_TEST((eval({.if_unmodified_since = earlier_text}) == Precondition::precondition_failed));
  BOOST_TEST((eval({.if_unmodified_since = "garbage"}) == Precondition::proceed));  // §13.1.4: ignored
}

BOOST_AUTO_TEST_CASE(if_match_overrides_if_unmodified_since) {
  BOOST_TEST((eval({.if_match = tag, .if_unmodified_since = earlier_text}) == Precondition::proceed));
}

BOOST_AUTO_TEST_CASE(precedence_412_before_304) {
  // §13.2.2: step 1 fails before step 3 could answer 304.
  BOOST_TEST((eval({.if_match = "\"old\"", .if_none_match = tag}) == Precondition::precondition_failed));
  BOOST_TEST((eval({.if_none_match = tag, .if_unmodified_since = earlier_text}) ==
              Precondition::precondition_failed));
  // Both pass: the 304 still applies.
  BOOST_TEST((eval({.if_match = tag, .if_none_match = tag}) == Precondition::not_modified));
  BOOST_TEST((eval({.if_modified_since = later_text, .if_unmodified_since = later_text}) ==
              Precondition::not_modified));
}

BOOST_AUTO_TEST_CASE(formatted_last_modified_round_trips_through_the_checks) {
  std::array<char, http_date_length> buf;
  std::string_view lm = format_http_date(mtime, buf);
  BOOST_TEST((eval({.if_modified_since = lm}) == Precondition::not_modified));
  BOOST_TEST(if_range_allows_partial(lm, tag, mtime));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_conditional_tests
