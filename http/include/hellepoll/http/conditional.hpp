// Validators and conditional requests for static files (RFC 9110 §8.8, §13).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

namespace hellepoll::http {

// Quotes, 16 hex digits of seconds, '.', 8 of nanoseconds, '-', 16 of size.
inline constexpr std::size_t etag_max = 2 + 16 + 1 + 8 + 1 + 16;
using ETagBuffer = std::array<char, etag_max>;

// A strong entity-tag for a file (§8.8.3), written into `buf` (which must outlive the
// view): nginx's "<mtime seconds hex>-<size hex>" when mtime_nsec is 0, otherwise
// "<seconds hex>.<nanoseconds hex>-<size hex>", so two same-size writes within one second
// still get different tags where the file system keeps nanoseconds. Strong is justified
// only as far as mtime changes with every write, the assumption nginx makes too.
std::string_view make_etag(ETagBuffer& buf, std::uint64_t size, std::int64_t mtime_sec,
                           std::uint32_t mtime_nsec) noexcept;

// If-None-Match (§13.1.2): true when `header` is "*" or lists an entity-tag that matches
// `etag` by weak comparison (§8.8.3.2: W/ prefixes ignored). The caller knows that the
// representation exists. A syntactically invalid list matches nothing. Commas inside a
// quoted tag are part of the tag, not separators.
bool if_none_match_matches(std::string_view header, std::string_view etag) noexcept;

// If-Match (§13.1.1): true when `header` is "*" or lists an entity-tag equal to `etag` by
// strong comparison (neither weak, same opaque-tag). Invalid syntax matches nothing.
bool if_match_matches(std::string_view header, std::string_view etag) noexcept;

// If-Range (§13.1.5), to be consulted only when the request has a Range: true when the
// ranges may be served (206), false when the whole representation must be (200). An
// entity-tag must match `etag` by strong comparison, so a W/ tag never does; an HTTP-date
// must equal `last_modified` exactly (not "at or before", unlike If-Unmodified-Since).
// Anything unparsable is false: a full 200 is always a safe answer.
bool if_range_allows_partial(std::string_view header, std::string_view etag, std::time_t last_modified) noexcept;

// The conditional request fields of a GET or HEAD; an empty view means the field is
// absent. If a field came on several lines, pass them joined with ", " (§5.3).
struct ConditionalHeaders {
  std::string_view if_match{};
  std::string_view if_none_match{};
  std::string_view if_modified_since{};
  std::string_view if_unmodified_since{};
};

enum class Precondition {
  proceed,              // serve the representation (then consider Range and If-Range)
  not_modified,         // 304 (§15.4.5: send ETag, Last-Modified, no body)
  precondition_failed,  // 412
};

// The §13.2.2 evaluation order for a GET or HEAD of an existing representation:
// 1. If-Match present: 412 unless it matches (strong);
// 2. else If-Unmodified-Since with a valid date: 412 if modified after it;
// 3. If-None-Match present: 304 if it matches (weak);
// 4. else If-Modified-Since with a valid date: 304 unless modified after it.
// Invalid dates are ignored (§13.1.3, §13.1.4), which also covers a list of dates.
// `last_modified` is the mtime in whole seconds, as the Last-Modified field shows it.
Precondition evaluate_preconditions(const ConditionalHeaders& headers, std::string_view etag,
                                    std::time_t last_modified) noexcept;

}  // namespace hellepoll::http
