// Request paths turned into safe relative file paths, and the escaping a directory
// listing needs. Pure functions: no I/O. Symlinks that lead out of the document root
// cannot be seen here; the file handler must still open with RESOLVE_BENEATH or check.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hellepoll::http {

// Decodes every "%XX" (RFC 3986 §2.1, either case of hex digit) once. '+' stays '+': it
// means space only in HTML form data, not in a path. nullopt for a '%' not followed by two
// hex digits ("%", "%4", "%zz"), since guessing what a malformed escape meant is how
// decoders disagree with each other.
std::optional<std::string> percent_decode(std::string_view in);

// The path a request is routed by, and that its handler sees as req.path(): the
// request's path decoded, dot segments resolved (RFC 3986 §5.2.4) and empty segments
// merged, as nginx matches its locations on the decoded URI. "/x/../admin", "/%61dmin/",
// "/adm%69n" and "//admin" are all "/admin" to the router, and "/c%2B%2B" is "/c++", so no
// spelling of a path reaches a route other than the one its handler acts on. Three
// escapes stay (upper-case): "%2F", which must not become a separator, "%25", so that a
// later decode (a {param}, a file name) still happens exactly once, and control
// characters. nullopt (400, as nginx): a '%' not followed by two hex digits, or a ".."
// above the root. A path not starting with '/' ("*") is returned as it is. Route
// patterns go through it too (Router), so "/caf%C3%A9/*" and "/café/*" are one route.
std::optional<std::string> route_path(std::string_view path);

// True only when route_path(path) is `path` itself: no '%', no empty, "." or ".." segment
// (the common case, told by one scan, without building anything).
bool is_route_path(std::string_view path) noexcept;

struct NormalizedPath {
  std::string rel;             // "a/b/c.txt": no leading, trailing or doubled '/'; "" is the root
  bool trailing_slash = false;  // the request named a directory ("/a/b/", "/a/b/.", "/")
};

// Turns a raw request path (origin-form, query already removed) into a path relative to
// the document root, or nullopt when the request must be refused (400 or 404).
//
// Refused: a path not starting with '/'; a malformed escape; a decoded NUL or other
// control character (< 0x20, 0x7f); a backslash, raw or encoded (Windows separators,
// and proxies that normalise them); an encoded '/' ("%2f"), which would let one segment
// smuggle a separator past anything that splits before decoding; and a ".." segment that
// would climb above the root, however it was written ("..", "%2e%2e", ".%2E"...). Empty
// and "." segments are dropped and ".." removes the segment before it (RFC 3986 §5.2.4,
// as nginx does): "/a/../b" is "b". Dot segments are judged on the decoded bytes, after
// the split, so no spelling of ".." gets past the root; the file handler's
// RESOLVE_BENEATH still guards against symlinks.
//
// The path is decoded exactly once: "%252e%252e" becomes the file name "%2e%2e", which is
// harmless, and is not decoded again (decoding twice is the classic traversal bug).
// Bytes >= 0x80 (UTF-8 file names) pass through.
std::optional<NormalizedPath> normalize_request_path(std::string_view path);

// Escapes & < > " ' for text and attribute values in HTML (OWASP's set), so a file named
// "<script>" or one with a quote in it shows as text in a listing.
std::string html_escape(std::string_view in);

// Percent-encodes one path segment for an href: every byte but RFC 3986 unreserved
// characters (ALPHA DIGIT - . _ ~) becomes "%XX" (upper-case hex, §2.1). Encoding '/', '?',
// '#', ';' and ':' keeps a file name from changing the URL's structure (a first segment
// "a:b" would read as a scheme).
std::string percent_encode_path_segment(std::string_view segment);

// A request's query as a URI may carry it (RFC 3986 §3.4: pchar, '/' and '?'), for a
// Location: escapes ("%3D") stay as they are, every other byte (a '"', '<', a space, a
// lone '%', non-ASCII) becomes "%XX". The parser admits any VCHAR but '#' in a query, as
// nginx does; a redirect must not hand those on unencoded.
std::string percent_encode_query(std::string_view query);

}  // namespace hellepoll::http
