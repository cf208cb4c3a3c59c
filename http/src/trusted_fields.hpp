// Fields the framework itself makes (static files' validators, a MIME type from the
// table): valid by construction, so they skip Response::header's checks, and a content
// type with static storage is pointed at instead of copied. Per request these checks and
// copies were ~1,100 of the ~13,500 user-space instructions of a small static file
// (bench/RESULTS.md).
#pragma once

#include <string_view>

#include "hellepoll/http/response.hpp"

namespace hellepoll::http::detail {

struct TrustedFields {
  // `name` is one the framework does not own (not Content-Type, Content-Length,
  // Transfer-Encoding, Connection, Date or Server); neither holds CR, LF or NUL.
  static void add(Response& r, std::string_view name, std::string_view value) { r.append_field(name, value); }
  // `type` lives as long as the program (mime_type_for's table).
  static void static_content_type(Response& r, std::string_view type) noexcept { r.content_type_ = type; }
};

}  // namespace hellepoll::http::detail
