// HTTP status codes and their reason phrases (RFC 9110 §15).
#pragma once

#include <string_view>

namespace hellepoll::http {

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase.
std::string_view reason_phrase(int status) noexcept;

// 1xx, 204 and 304 responses never carry content (RFC 9110 §6.4.1).
constexpr bool status_forbids_body(int status) noexcept {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace hellepoll::http
