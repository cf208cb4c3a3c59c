#include "hellepoll/http/conditional.hpp"

#include <charconv>

#include "hellepoll/http/http_date.hpp"

namespace hellepoll::http {
namespace {

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// etagc = %x21 / %x23-7E / obs-text (§8.8.3): no space, no DQUOTE, no control bytes.
constexpr bool is_etagc(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7f);
}

struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // with its quotes
};

// Reads one entity-tag = [ "W/" ] opaque-tag from the front of `s`; false if there is none.
constexpr bool read_entity_tag(std::string_view& s, EntityTag& tag) noexcept {
  tag.weak = s.starts_with("W/");  // case-sensitive: %s"W/"
  std::string_view rest = tag.weak ? s.substr(2) : s;
  if (rest.empty() || rest.front() != '"') return false;
  std::size_t end = 1;
  while (end < rest.size() && is_etagc(rest[end])) ++end;
  if (end == rest.size() || rest[end] != '"') return false;
  tag.opaque = rest.substr(0, end + 1);
  s = rest.substr(end + 1);
  return true;
}

// The server's own tag, split like a received one; a malformed one compares as a whole.
constexpr EntityTag split_own(std::string_view etag) noexcept {
  EntityTag tag;
  std::string_view s = etag;
  if (!read_entity_tag(s, tag) || !s.empty()) tag = EntityTag{false, etag};
  return tag;
}

constexpr bool weak_match(const EntityTag& a, const EntityTag& b) noexcept { return a.opaque == b.opaque; }
constexpr bool strong_match(const EntityTag& a, const EntityTag& b) noexcept {
  return !a.weak && !b.weak && a.opaque == b.opaque;
}

// "*" / #entity-tag (§13.1.1, §13.1.2), with the empty elements and OWS that §5.6.1.2
// makes recipients accept. The whole list is checked before answering, so a match does not
// excuse garbage later in the field.
template <bool (*Match)(const EntityTag&, const EntityTag&)>
bool list_matches(std::string_view header, std::string_view etag) noexcept {
  header = trim_ows(header);
  if (header == "*") return true;
  const EntityTag own = split_own(etag);
  bool matched = false;
  bool any = false;
  while (!header.empty()) {
    if (header.front() == ',' || is_ows(header.front())) {
      header.remove_prefix(1);
      continue;
    }
    EntityTag tag;
    if (!read_entity_tag(header, tag)) return false;
    any = true;
    matched = matched || Match(tag, own);
    header = trim_ows(header);
    if (!header.empty() && header.front() != ',') return false;
  }
  return any && matched;
}

char* put_hex(char* p, std::uint64_t v) noexcept { return std::to_chars(p, p + 16, v, 16).ptr; }

}  // namespace

std::string_view make_etag(ETagBuffer& buf, std::uint64_t size, std::int64_t mtime_sec,
                           std::uint32_t mtime_nsec) noexcept {
  char* p = buf.data();
  *p++ = '"';
  // Two's complement for a (rare) pre-1970 mtime keeps the tag free of a '-' sign.
  p = put_hex(p, static_cast<std::uint64_t>(mtime_sec));
  if (mtime_nsec != 0) {
    *p++ = '.';
    p = put_hex(p, mtime_nsec);
  }
  *p++ = '-';
  p = put_hex(p, size);
  *p++ = '"';
  return {buf.data(), static_cast<std::size_t>(p - buf.data())};
}

bool if_none_match_matches(std::string_view header, std::string_view etag) noexcept {
  return list_matches<weak_match>(header, etag);
}

bool if_match_matches(std::string_view header, std::string_view etag) noexcept {
  return list_matches<strong_match>(header, etag);
}

bool if_range_allows_partial(std::string_view header, std::string_view etag, std::time_t last_modified) noexcept {
  header = trim_ows(header);
  // If-Range = entity-tag / HTTP-date: a date never starts with '"' or "W/".
  if (header.starts_with('"') || header.starts_with("W/")) {
    EntityTag tag;
    return read_entity_tag(header, tag) && header.empty() && strong_match(tag, split_own(etag));
  }
  auto date = parse_http_date(header);
  return date && *date == last_modified;
}

Precondition evaluate_preconditions(const ConditionalHeaders& h, std::string_view etag,
                                    std::time_t last_modified) noexcept {
  // Steps 1-2: the state-protecting preconditions come first.
  if (!h.if_match.empty()) {
    if (!if_match_matches(h.if_match, etag)) return Precondition::precondition_failed;
  } else if (!h.if_unmodified_since.empty()) {
    auto date = parse_http_date(h.if_unmodified_since);
    if (date && last_modified > *date) return Precondition::precondition_failed;
  }
  // Steps 3-4: If-None-Match overrides If-Modified-Since (§13.1.3) since tags are exact.
  if (!h.if_none_match.empty()) {
    if (if_none_match_matches(h.if_none_match, etag)) return Precondition::not_modified;
  } else if (!h.if_modified_since.empty()) {
    auto date = parse_http_date(h.if_modified_since);
    if (date && last_modified <= *date) return Precondition::not_modified;
  }
  return Precondition::proceed;
}

}  // namespace hellepoll::http
