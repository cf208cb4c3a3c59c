// HTTP-date (RFC 9110 §5.6.7): formatting IMF-fixdate and parsing all three formats.
// Locale-free, thread-safe arithmetic (no strftime, strptime, timegm or gmtime).
#pragma once

#include <chrono>
#include <cstddef>
#include <ctime>
#include <optional>
#include <span>
#include <string_view>

namespace hellepoll::http {

// "Sun, 06 Nov 1994 08:49:37 GMT" is always this long.
inline constexpr std::size_t http_date_length = 29;

// Writes `t` (seconds since the epoch, UTC) as IMF-fixdate into `out` and returns a view of
// it. Times outside years 0000..9999, which a 4-digit year cannot show, are clamped to
// the first or last second of that span. Does not allocate.
std::string_view format_http_date(std::time_t t, std::span<char, http_date_length> out) noexcept;
std::string_view format_http_date(std::chrono::system_clock::time_point t,
                                  std::span<char, http_date_length> out) noexcept;

// Parses IMF-fixdate, the obsolete RFC 850 form ("Sunday, 06-Nov-94 08:49:37 GMT") and
// asctime ("Sun Nov  6 08:49:37 1994"), exactly as §5.6.7 spells them: names are
// case-sensitive, "GMT" is required (asctime has none), no extra spaces inside, leading and
// trailing OWS tolerated. nullopt for anything else, including impossible dates
// ("31 Feb") and times (25:00:00); second 60 (a leap second, RFC 5322 §3.3) is accepted
// and, as timegm does, rolls into the next minute. The day name is checked to be a day
// name but not against the date: it is redundant, and nginx and Apache ignore it too.
//
// A two-digit RFC 850 year is placed in the century that puts it within 50 years of
// `now`'s year (§5.6.7: one that "appears to be more than 50 years in the future" is in
// the past). The overload without `now` uses the current time.
std::optional<std::time_t> parse_http_date(std::string_view s, std::time_t now) noexcept;
std::optional<std::time_t> parse_http_date(std::string_view s) noexcept;

}  // namespace hellepoll::http
