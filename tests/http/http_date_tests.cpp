#include <time.h>

#include <array>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "hellepoll/http/http_date.hpp"

namespace http_http_date_tests {

using namespace hellepoll::http;
using namespace std::string_view_literals;

namespace {

std::string fmt(std::time_t t) {
  std::array<char, http_date_length> buf;
  return std::string(format_http_date(t, buf));
}

constexpr std::time_t rfc_example = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr std::time_t mid_2025 = 1750000000;    // 2025-06-15

// The parsed time, or a sentinel no test expects (Boost.Test cannot print an optional).
constexpr std::time_t refused = -999999;
std::time_t parsed(std::string_view s, std::time_t now = mid_2025) {
  return parse_http_date(s, now).value_or(refused);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_date)

BOOST_AUTO_TEST_CASE(formats_imf_fixdate) {
  BOOST_TEST(fmt(rfc_example) == "Sun, 06 Nov 1994 08:49:37 GMT");
  BOOST_TEST(fmt(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  BOOST_TEST(fmt(-1) == "Wed, 31 Dec 1969 23:59:59 GMT");
  BOOST_TEST(fmt(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
  BOOST_TEST(fmt(2147483648) == "Tue, 19 Jan 2038 03:14:08 GMT");  // past 32-bit time_t
  BOOST_TEST(fmt(-2208988800) == "Mon, 01 Jan 1900 00:00:00 GMT");
}

BOOST_AUTO_TEST_CASE(formats_time_point) {
  std::array<char, http_date_length> buf;
  auto tp = std::chrono::system_clock::from_time_t(rfc_example) + std::chrono::milliseconds(999);
  BOOST_TEST(format_http_date(tp, buf) == "Sun, 06 Nov 1994 08:49:37 GMT");  // truncated, not rounded
  auto before_epoch = std::chrono::system_clock::time_point{} - std::chrono::milliseconds(1);
  BOOST_TEST(format_http_date(before_epoch, buf) == "Wed, 31 Dec 1969 23:59:59 GMT");
}

BOOST_AUTO_TEST_CASE(clamps_to_four_digit_years) {
  BOOST_TEST(fmt(253402300799) == "Fri, 31 Dec 9999 23:59:59 GMT");
  BOOST_TEST(fmt(253402300800) == "Fri, 31 Dec 9999 23:59:59 GMT");
  BOOST_TEST(fmt(INT64_MAX) == "Fri, 31 Dec 9999 23:59:59 GMT");
  BOOST_TEST(fmt(-62167219200) == "Sat, 01 Jan 0000 00:00:00 GMT");
  BOOST_TEST(fmt(INT64_MIN) == "Sat, 01 Jan 0000 00:00:00 GMT");
}

BOOST_AUTO_TEST_CASE(agrees_with_gmtime_and_round_trips) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // 1901..2100 in uneven steps, so every month, weekday and leap rule is crossed.
  for (std::time_t t = -2147483648LL; t < 4102444800LL; t += 86400 * 7 + 3607 * 13) {
    std::tm tm{};
    BOOST_TEST_REQUIRE(gmtime_r(&t, &tm) != nullptr);
    char want[64];
    std::snprintf(want, sizeof want, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string got = fmt(t);
    BOOST_TEST_REQUIRE(got == want);
    BOOST_TEST_REQUIRE(parsed(got) == t);
  }
}

BOOST_AUTO_TEST_CASE(parses_the_three_formats) {
  BOOST_TEST(parsed("Sun, 06 Nov 1994 08:49:37 GMT") == rfc_example);
  BOOST_TEST(parsed("Sunday, 06-Nov-94 08:49:37 GMT") == rfc_example);
  BOOST_TEST(parsed("Sun Nov  6 08:49:37 1994") == rfc_example);
  BOOST_TEST(parsed("Sun Nov 06 08:49:37 1994") == rfc_example);  // 2DIGIT day
  BOOST_TEST(parsed("Wed Nov 16 08:49:37 1994") == rfc_example + 10 * 86400);
  // The overload that reads the clock.
  BOOST_TEST(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").value_or(refused) == rfc_example);
  BOOST_TEST(parsed("  Sun, 06 Nov 1994 08:49:37 GMT\t") == rfc_example);
  BOOST_TEST(parsed("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
  BOOST_TEST(parsed("Fri, 31 Dec 9999 23:59:59 GMT") == 253402300799);
}

BOOST_AUTO_TEST_CASE(day_name_is_not_checked_against_the_date) {
  BOOST_TEST(parsed("Mon, 06 Nov 1994 08:49:37 GMT") == rfc_example);
}

BOOST_AUTO_TEST_CASE(leap_years_and_seconds) {
  BOOST_TEST(parsed("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400);
  BOOST_TEST(!parse_http_date("Thu, 29 Feb 1900 00:00:00 GMT", mid_2025));  // 1900 is not a leap year
  BOOST_TEST(!parse_http_date("Tue, 29 Feb 2023 00:00:00 GMT", mid_2025));
  BOOST_TEST(parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT", mid_2025).has_value());
  BOOST_TEST(parsed("Sat, 31 Dec 2016 23:59:60 GMT") == parsed("Sun, 01 Jan 2017 00:00:00 GMT"));
}

BOOST_AUTO_TEST_CASE(rfc850_two_digit_years_are_within_50_years_of_now) {
  // now = mid-2025: years 1976..2075 are reachable.
  BOOST_TEST(parsed("Sunday, 06-Nov-94 08:49:37 GMT") == rfc_example);
  BOOST_TEST(parsed("Sunday, 06-Nov-94 08:49:37 GMT", rfc_example) == rfc_example);
  BOOST_TEST(fmt(parsed("Tuesday, 01-Jan-75 00:00:00 GMT", mid_2025)) ==
             "Tue, 01 Jan 2075 00:00:00 GMT");
  BOOST_TEST(fmt(parsed("Thursday, 01-Jan-76 00:00:00 GMT", mid_2025)) ==
             "Thu, 01 Jan 1976 00:00:00 GMT");
  BOOST_TEST(fmt(parsed("Saturday, 01-Jan-00 00:00:00 GMT", mid_2025)) ==
             "Sat, 01 Jan 2000 00:00:00 GMT");
  // In 2090, "10" is 2110 (20 years ahead), not 2010 (80 years back).
  const std::time_t in_2090 = 3786912000;  // 2090-01-01
  BOOST_TEST(fmt(parsed("Monday, 01-Jan-10 00:00:00 GMT", in_2090)) ==
             "Wed, 01 Jan 2110 00:00:00 GMT");
}

BOOST_AUTO_TEST_CASE(rejects_garbage) {
  for (std::string_view bad : {
           ""sv,
           "garbage"sv,
           "Sun, 06 Nov 1994 08:49:37 UTC"sv,
           "Sun, 06 Nov 1994 08:49:37 gmt"sv,
           "Sun, 06 Nov 1994 08:49:37"sv,
           "Sun, 06 Nov 1994 08:49:37 GMTx"sv,
           "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT"sv,  // a list
           "sun, 06 Nov 1994 08:49:37 GMT"sv,
           "Sun, 06 nov 1994 08:49:37 GMT"sv,
           "Sun, 6 Nov 1994 08:49:37 GMT"sv,
           "Sun,  06 Nov 1994 08:49:37 GMT"sv,
           "Sun, 06 Nov 94 08:49:37 GMT"sv,
           "Sun, 06 Nov 19944 08:49:37 GMT"sv,
           "Sun, 06 Nov 1994 8:49:37 GMT"sv,
           "Sun, 06 Nov 1994 08:49:3a GMT"sv,
           "Sun, 06 Nov 1994 08-49-37 GMT"sv,
           "Sun, 00 Nov 1994 08:49:37 GMT"sv,
           "Sun, 31 Nov 1994 08:49:37 GMT"sv,
           "Sun, 06 Xyz 1994 08:49:37 GMT"sv,
           "Sun, 06 Nov 1994 24:00:00 GMT"sv,
           "Sun, 06 Nov 1994 08:60:00 GMT"sv,
           "Sun, 06 Nov 1994 08:49:61 GMT"sv,
           "Sun, -6 Nov 1994 08:49:37 GMT"sv,
           "Sun, 06 Nov 1994 08:49:37 GMT\0"sv,
           "Sunday, 06 Nov 1994 08:49:37 GMT"sv,
           "Sun, 06-Nov-94 08:49:37 GMT"sv,
           "Sunday, 06-Nov-1994 08:49:37 GMT"sv,
           "Sunday, 06-Nov-94 08:49:37"sv,
           "Sun Nov 6 08:49:37 1994"sv,
           "Sun Nov   6 08:49:37 1994"sv,
           "Sun Nov  6 08:49:37 94"sv,
           "Sun Nov  6 08:49:37 1994 GMT"sv,
           "Sun Nov  0 08:49:37 1994"sv,
           "1994-11-06T08:49:37Z"sv,
           "784111777"sv,
       }) {
    BOOST_TEST(!parse_http_date(bad, mid_2025), "accepted: " << bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_http_date_tests
