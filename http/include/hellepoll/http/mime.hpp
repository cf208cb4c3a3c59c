// Media types for static files, chosen from the file name's extension.
#pragma once

#include <string_view>

namespace hellepoll::http {

// The Content-Type for `path` (a file name or a path; only the part after the last '/'
// is looked at). The extension is what follows the last '.' of that name and is matched
// case-insensitively against a built-in table of the common web types; text types carry
// "; charset=utf-8". A name without an extension, a dot-file such as ".htaccess", or an
// unknown extension gives "application/octet-stream" (RFC 9110 §8.3: the recipient may
// then sniff or save; guessing text/plain would be worse). The returned view refers to
// static storage. Does not allocate.
std::string_view mime_type_for(std::string_view path) noexcept;

inline constexpr std::string_view default_mime_type = "application/octet-stream";

}  // namespace hellepoll::http
