#include "hellepoll/http/http_date.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace hellepoll::http {
namespace {

using std::int64_t;

constexpr int64_t seconds_per_day = 86400;

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, 1970-01-01 is
// day 0): exact for every year, without the tables and locks of the C library.
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

constexpr Civil civil_from_days(int64_t z) noexcept {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(-1).year == 1969 && civil_from_days(-1).day == 31);

constexpr bool is_leap(int64_t y) noexcept { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr unsigned days_in_month(int64_t y, unsigned m) noexcept {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

constexpr std::array<std::string_view, 7> day_names = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> long_day_names = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                            "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// The representable span: 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t min_time = days_from_civil(0, 1, 1) * seconds_per_day;
constexpr int64_t max_time = days_from_civil(10000, 1, 1) * seconds_per_day - 1;

// ---- formatting

char* put2(char* p, unsigned v) noexcept {
  *p++ = static_cast<char>('0' + v / 10);
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}

char* put(char* p, std::string_view s) noexcept {
  for (char c : s) *p++ = c;
  return p;
}

// Floor division: the epoch split must round towards minus infinity for times before 1970.
constexpr int64_t floor_div(int64_t a, int64_t b) noexcept { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// ---- parsing

// A cursor over the input; every step either consumes exactly what it expects or fails.
struct Reader {
  std::string_view s;
  bool ok = true;

  bool literal(std::string_view lit) noexcept {
    ok = ok && s.starts_with(lit);
    if (ok) s.remove_prefix(lit.size());
    return ok;
  }
  // Exactly `n` digits.
  unsigned digits(std::size_t n) noexcept {
    ok = ok && s.size() >= n;
    unsigned v = 0;
    for (std::size_t i = 0; ok && i < n; ++i) {
      ok = s[i] >= '0' && s[i] <= '9';
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    if (!ok) return 0;
    s.remove_prefix(n);
    return v;
  }
  // One of `names`; returns its index.
  template <std::size_t N>
  unsigned name(const std::array<std::string_view, N>& names) noexcept {
    for (unsigned i = 0; ok && i < N; ++i) {
      if (s.starts_with(names[i])) {
        s.remove_prefix(names[i].size());
        return i;
      }
    }
    ok = false;
    return 0;
  }
};

struct Fields {
  int64_t year = 0;
  unsigned month = 0;  // 1..12
  unsigned day = 0, hour = 0, minute = 0, second = 0;
};

// time-of-day = hour ":" minute ":" second
void read_time(Reader& r, Fields& f) noexcept {
  f.hour = r.digits(2);
  r.literal(":");
  f.minute = r.digits(2);
  r.literal(":");
  f.second = r.digits(2);
}

// IMF-fixdate = day-name "," SP day SP month SP year SP time-of-day SP "GMT"
bool read_imf_fixdate(Reader r, Fields& f) noexcept {
  f = Fields{};
  r.name(day_names);
  r.literal(", ");
  f.day = r.digits(2);
  r.literal(" ");
  f.month = r.name(month_names) + 1;
  r.literal(" ");
  f.year = r.digits(4);
  r.literal(" ");
  read_time(r, f);
  r.literal(" GMT");
  return r.ok && r.s.empty();
}

// rfc850-date = day-name-l "," SP day "-" month "-" 2DIGIT SP time-of-day SP "GMT"
bool read_rfc850(Reader r, Fields& f) noexcept {
  f = Fields{};
  r.name(long_day_names);
  r.literal(", ");
  f.day = r.digits(2);
  r.literal("-");
  f.month = r.name(month_names) + 1;
  r.literal("-");
  f.year = r.digits(2);
  r.literal(" ");
  read_time(r, f);
  r.literal(" GMT");
  return r.ok && r.s.empty();
}

// asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP year
bool read_asctime(Reader r, Fields& f) noexcept {
  f = Fields{};
  r.name(day_names);
  r.literal(" ");
  f.month = r.name(month_names) + 1;
  r.literal(" ");
  if (r.ok && r.s.starts_with(' ')) {
    r.literal(" ");
    f.day = r.digits(1);
  } else {
    f.day = r.digits(2);
  }
  r.literal(" ");
  read_time(r, f);
  r.literal(" ");
  f.year = r.digits(4);
  return r.ok && r.s.empty();
}

// §5.6.7: the two-digit year goes where it lands within 50 years of now.
int64_t expand_two_digit_year(int64_t yy, std::time_t now) noexcept {
  int64_t now_year = civil_from_days(floor_div(now, seconds_per_day)).year;
  int64_t y = now_year - now_year % 100 + yy;
  if (y > now_year + 50) y -= 100;
  else if (y <= now_year - 50) y += 100;
  return y;
}

std::optional<std::time_t> to_time(const Fields& f) noexcept {
  if (f.day < 1 || f.day > days_in_month(f.year, f.month)) return std::nullopt;
  if (f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
  int64_t t = days_from_civil(f.year, f.month, f.day) * seconds_per_day + f.hour * 3600 + f.minute * 60 + f.second;
  return static_cast<std::time_t>(t);
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view format_http_date(std::time_t t, std::span<char, http_date_length> out) noexcept {
  int64_t secs = std::clamp<int64_t>(t, min_time, max_time);
  int64_t days = floor_div(secs, seconds_per_day);
  auto sod = static_cast<unsigned>(secs - days * seconds_per_day);
  Civil c = civil_from_days(days);
  int64_t weekday = (days + 4) % 7;  // 1970-01-01 was a Thursday
  if (weekday < 0) weekday += 7;
  auto year = static_cast<unsigned>(c.year);

  char* p = out.data();
  p = put(p, day_names[static_cast<std::size_t>(weekday)]);
  p = put(p, ", ");
  p = put2(p, c.day);
  *p++ = ' ';
  p = put(p, month_names[c.month - 1]);
  *p++ = ' ';
  p = put2(p, year / 100);
  p = put2(p, year % 100);
  *p++ = ' ';
  p = put2(p, sod / 3600);
  *p++ = ':';
  p = put2(p, sod / 60 % 60);
  *p++ = ':';
  p = put2(p, sod % 60);
  put(p, " GMT");
  return {out.data(), out.size()};
}

std::string_view format_http_date(std::chrono::system_clock::time_point t,
                                  std::span<char, http_date_length> out) noexcept {
  auto secs = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  return format_http_date(static_cast<std::time_t>(secs), out);
}

std::optional<std::time_t> parse_http_date(std::string_view s, std::time_t now) noexcept {
  s = trim_ows(s);
  // The forms differ by their fourth byte (',', ' ', or a letter of a long day name), so
  // at most one reader succeeds.
  Fields f;
  if (read_imf_fixdate(Reader{s}, f) || read_asctime(Reader{s}, f)) return to_time(f);
  if (read_rfc850(Reader{s}, f)) {
    f.year = expand_two_digit_year(f.year, now);
    return to_time(f);
  }
  return std::nullopt;
}

std::optional<std::time_t> parse_http_date(std::string_view s) noexcept {
  return parse_http_date(s, std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
}

}  // namespace hellepoll::http
