// The conditional-request fields, which turn untrusted bytes into 304/412/206 decisions:
// If-Match / If-None-Match lists, If-Range, and HTTP-date parsing (written by a fuzzing
// audit, 2026-12-01; its seeds are the corpus that run grew, minimized).
// Input: 8 bytes time t, 8 bytes "now", 8 bytes size/mtime, then "list\ndate\nown-etag".
// Checks:
//  - dates: parse(format(t)) == t (clamped to years 0000-9999) for any t; a parsed date lies in
//    that span; an IMF-fixdate that parses formats back to itself (day name and a leap second
//    aside); surrounding OWS never changes the result; an RFC 850 year lands within 50 years of now;
//  - lists: if_match / if_none_match agree with a reference written differently (split on
//    commas outside quotes, each element matched whole); a strong match implies a weak one;
//    a server tag always matches itself, its W/ form only weakly;
//  - If-Range: an entity-tag form is true iff it is exactly one strong tag equal to ours; a
//    date form iff the date equals Last-Modified;
//  - evaluate_preconditions follows §13.2.2's order (reference).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "hellepoll/http/conditional.hpp"
#include "hellepoll/http/http_date.hpp"

using namespace hellepoll::http;

namespace {
// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z
constexpr std::int64_t kMin = -62167219200, kMax = 253402300799;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool etagc(unsigned char c) { return c == 0x21 || (c >= 0x23 && c != 0x7f); }

struct Tag {
  bool weak;
  std::string_view opaque;
};
std::optional<Tag> whole_tag(std::string_view e) {
  Tag t{false, {}};
  if (e.size() >= 2 && e[0] == 'W' && e[1] == '/') t.weak = true, e.remove_prefix(2);
  if (e.size() < 2 || e.front() != '"' || e.back() != '"') return std::nullopt;
  for (std::size_t i = 1; i + 1 < e.size(); ++i)
    if (!etagc(static_cast<unsigned char>(e[i]))) return std::nullopt;
  t.opaque = e;
  return t;
}

// Reference list match: nullopt = invalid list.
bool ref_list(std::string_view h, std::string_view own_raw, bool strong) {
  h = trim(h);
  if (h == "*") return true;
  auto own = whole_tag(own_raw);
  Tag o = own ? *own : Tag{false, own_raw};
  std::vector<std::string_view> elems;
  bool q = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= h.size(); ++i) {
    if (i < h.size() && h[i] == '"') q = !q;
    if (i == h.size() || (h[i] == ',' && !q)) {
      auto e = trim(h.substr(start, i - start));
      if (!e.empty()) elems.push_back(e);
      start = i + 1;
    }
  }
  bool matched = false;
  for (auto e : elems) {
    auto t = whole_tag(e);
    if (!t) return false;
    if (t->opaque == o.opaque && (!strong || (!t->weak && !o.weak))) matched = true;
  }
  return !elems.empty() && matched;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 24) return 0;
  std::int64_t t, now_raw;
  std::uint64_t misc;
  std::memcpy(&t, data, 8);
  std::memcpy(&now_raw, data + 8, 8);
  std::memcpy(&misc, data + 16, 8);
  // now: 1900..2200, so the 50-year rule has room on both sides.
  const std::time_t now = -2208988800LL + static_cast<std::int64_t>(static_cast<std::uint64_t>(now_raw) % 9467280000ULL);
  std::string_view rest(reinterpret_cast<const char*>(data + 24), size - 24);
  std::string_view parts[3];
  for (auto& p : parts) {
    auto nl = rest.find('\n');
    p = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  const std::string_view list = parts[0], date = parts[1], own_raw = parts[2];

  // ---- dates
  char buf[http_date_length];
  {
    if (data[23] & 1) t %= 400LL * 366 * 86400;  // often near the epoch
    std::string_view f = format_http_date(static_cast<std::time_t>(t), std::span<char, http_date_length>(buf));
    auto back = parse_http_date(f, now);
    const std::int64_t clamped = std::min(std::max(t, kMin), kMax);
    if (!back || *back != clamped)
      fprintf(stderr, "t=%lld formatted %.*s parsed %lld\n", (long long)t, (int)f.size(), f.data(),
              back ? (long long)*back : -1LL);
    CHECK(back == clamped);
  }
  auto d = parse_http_date(date, now);
  if (d) {
    CHECK(*d >= kMin && *d <= kMax + 1);  // 9999-12-31 23:59:60 rolls one second on
    std::string padded = " \t" + std::string(date) + "\t ";
    CHECK(parse_http_date(padded, now) == d);
    const std::string_view s = trim(date);
    if (*d <= kMax) {
      std::string_view f = format_http_date(*d, std::span<char, http_date_length>(buf));
      CHECK(parse_http_date(f, now) == d);
      if (s.size() == 29 && s[3] == ',' && s.substr(23, 2) != "60") CHECK(f.substr(3) == s.substr(3));
    }
    if (s.size() >= 7 && s.find('-') != std::string_view::npos && s.find(',') > 3 && s.find(',') != std::string_view::npos) {
      // RFC 850: within 50 years of now (a leap second may roll a year's last second on)
      const std::int64_t diff = *d - now;
      CHECK(diff <= 51LL * 366 * 86400 && diff >= -51LL * 366 * 86400);
    }
  }

  // ---- entity tags
  ETagBuffer eb;
  const std::string_view made = make_etag(eb, misc >> 20, static_cast<std::int64_t>(t), static_cast<std::uint32_t>(misc & 0xfffff) * (data[22] & 1));
  CHECK(made.size() <= etag_max && whole_tag(made).has_value());
  CHECK(if_match_matches(made, made) && if_none_match_matches(made, made));
  const std::string weak = "W/" + std::string(made);
  CHECK(!if_match_matches(weak, made) && if_none_match_matches(weak, made));
  CHECK(if_range_allows_partial(made, made, 0) && !if_range_allows_partial(weak, made, 0));

  for (std::string_view own : {made, own_raw}) {
    const bool strong = if_match_matches(list, own), weak_m = if_none_match_matches(list, own);
    const bool agree = strong == ref_list(list, own, true) && weak_m == ref_list(list, own, false);
    if (!agree)
      fprintf(stderr, "if_match %d (ref %d), if_none_match %d (ref %d)\n", strong, ref_list(list, own, true), weak_m,
              ref_list(list, own, false));
    CHECK(agree);
    if (strong) CHECK(weak_m);
    // If-Range
    const std::time_t lm = d ? *d : static_cast<std::time_t>(t);
    const bool partial = if_range_allows_partial(list, own, lm);
    const std::string_view tl = trim(list);
    if (tl.starts_with('"') || tl.starts_with("W/")) {
      auto tag = whole_tag(tl);
      auto o = whole_tag(own);
      Tag ot = o ? *o : Tag{false, own};
      // "exactly one tag": the closing quote is the last byte
      CHECK(partial == (tag && !tag->weak && !ot.weak && tag->opaque == ot.opaque &&
                        tl.find('"', tl.find('"') + 1) == tl.size() - 1));
    } else {
      auto ld = parse_http_date(list);
      CHECK(partial == (ld && *ld == lm));
    }
    // Preconditions, §13.2.2.
    ConditionalHeaders h;
    const unsigned sel = data[21];
    if (sel & 1) h.if_match = list;
    if (sel & 2) h.if_none_match = (sel & 16) ? list : own_raw;
    if (sel & 4) h.if_modified_since = date;
    if (sel & 8) h.if_unmodified_since = date;
    // evaluate_preconditions reads dates against the wall clock (RFC 850 years), so must we.
    const auto dn = parse_http_date(date);
    Precondition want = Precondition::proceed;
    bool decided = false;
    if (!h.if_match.empty()) {
      if (!ref_list(h.if_match, own, true)) want = Precondition::precondition_failed, decided = true;
    } else if (!h.if_unmodified_since.empty() && dn && lm > *dn) {
      want = Precondition::precondition_failed, decided = true;
    }
    if (!decided) {
      if (!h.if_none_match.empty()) {
        if (ref_list(h.if_none_match, own, false)) want = Precondition::not_modified;
      } else if (!h.if_modified_since.empty() && dn && lm <= *dn) {
        want = Precondition::not_modified;
      }
    }
    CHECK(evaluate_preconditions(h, own, lm) == want);
  }
  return 0;
}
