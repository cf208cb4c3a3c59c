#include "hellepoll/http/path.hpp"

namespace hellepoll::http {
namespace {

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the escape at in[i] == '%'; -1 when malformed.
constexpr int decode_escape(std::string_view in, std::size_t i) noexcept {
  if (in.size() - i < 3) return -1;  // fewer than two bytes follow the '%'
  int hi = hex_value(in[i + 1]);
  int lo = hex_value(in[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

constexpr bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

// Closes the segment that starts at rel[seg_start] and runs to the end: drops it, with
// the '/' put before it, if it is empty or "."; ".." drops it and the segment before it
// (RFC 3986 §5.2.4), and is refused at the root, where there is nothing to drop. Returns
// false to refuse. `dir_like` says whether the path so far names a directory ("/a/",
// "/a/." and "/a/b/.." do).
bool close_segment(std::string& rel, std::size_t seg_start, bool& dir_like) {
  std::string_view seg = std::string_view(rel).substr(seg_start);
  const bool up = seg == "..";
  dir_like = up || seg.empty() || seg == ".";
  if (!dir_like) return true;
  rel.resize(seg_start);
  if (!rel.empty()) rel.pop_back();  // the '/' put before the dropped segment
  if (up) {
    if (rel.empty()) return false;  // above the root
    const std::size_t slash = rel.rfind('/');
    rel.resize(slash == std::string::npos ? 0 : slash);
  }
  return true;
}

constexpr char hex_digits[] = "0123456789ABCDEF";

// Appends "%XX" for byte c (upper-case hex, RFC 3986 §2.1).
void append_escape(std::string& out, unsigned char c) {
  const char esc[3] = {'%', hex_digits[c >> 4], hex_digits[c & 0xf]};
  out.append(esc, 3);
}

constexpr bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    int v = decode_escape(in, i);
    if (v < 0) return std::nullopt;
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

bool is_route_path(std::string_view path) noexcept {
  if (path.empty() || path.front() != '/') return true;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%') return false;
    if (c != '/' || i + 1 == path.size()) continue;
    // A segment starts at i + 1: empty ("//"), "." or ".." is not in normal form.
    const std::string_view rest = path.substr(i + 1);
    if (rest.front() == '/') return false;
    if (rest.front() == '.') {
      const std::size_t dots = rest.starts_with("..") ? 2 : 1;
      if (rest.size() == dots || rest[dots] == '/') return false;
    }
  }
  return true;
}

std::optional<std::string> route_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::string(path);
  std::string out = "/";
  out.reserve(path.size());
  // `out` always ends with '/' between segments; a segment is appended to it, then judged.
  // A "." or ".." segment, or an empty one, leaves `out` ending with '/': "/a/b/.." is "/a/".
  std::size_t i = 1;
  while (i <= path.size()) {
    const std::size_t seg_start = out.size();
    for (; i < path.size() && path[i] != '/'; ++i) {
      const char c = path[i];
      if (c != '%') {
        out.push_back(c);
        continue;
      }
      const int v = decode_escape(path, i);
      if (v < 0) return std::nullopt;
      if (v != '/' && v != '%' && !is_control(static_cast<unsigned char>(v))) {
        out.push_back(static_cast<char>(v));
      } else {
        append_escape(out, static_cast<unsigned char>(v));
      }
      i += 2;
    }
    const std::string_view seg = std::string_view(out).substr(seg_start);
    const bool dot_or_empty = seg.empty() || seg == "." || seg == "..";
    if (seg == "..") {
      out.resize(seg_start - 1);  // the segment and the '/' before it
      if (out.empty()) return std::nullopt;  // above the root
      out.resize(out.rfind('/') + 1);  // and the segment before it
    } else if (dot_or_empty) {
      out.resize(seg_start);
    } else if (i < path.size()) {
      out.push_back('/');
    }
    ++i;  // past the '/'
  }
  return out;
}

std::optional<NormalizedPath> normalize_request_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  NormalizedPath out;
  out.rel.reserve(path.size());
  // Decoding and splitting in one pass is what lets "%2f" be told apart from '/': only a
  // raw '/' separates segments. Dot segments are judged on the decoded bytes, so "%2e%2e"
  // is caught as "..".
  std::size_t seg_start = 0;
  bool dir_like = true;
  for (std::size_t i = 1; i < path.size(); ++i) {
    char c = path[i];
    if (c == '/') {
      if (!close_segment(out.rel, seg_start, dir_like)) return std::nullopt;
      if (!out.rel.empty()) out.rel.push_back('/');
      seg_start = out.rel.size();
      continue;
    }
    if (c == '%') {
      int v = decode_escape(path, i);
      if (v < 0 || v == '/') return std::nullopt;
      c = static_cast<char>(v);
      i += 2;
    }
    if (c == '\\' || is_control(static_cast<unsigned char>(c))) return std::nullopt;
    out.rel.push_back(c);
  }
  if (!close_segment(out.rel, seg_start, dir_like)) return std::nullopt;
  out.trailing_slash = dir_like;
  return out;
}

std::string html_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 8);
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;  // &apos; is not HTML 4
      default: out.push_back(c);
    }
  }
  return out;
}

std::string percent_encode_path_segment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (char c : segment) {
    auto u = static_cast<unsigned char>(c);
    if (is_unreserved(u)) {
      out.push_back(c);
    } else {
      append_escape(out, u);
    }
  }
  return out;
}

std::string percent_encode_query(std::string_view query) {
  static constexpr std::string_view kept = "!$&'()*+,;=:@/?";  // sub-delims, ':' '@' (pchar), '/' '?'
  std::string out;
  out.reserve(query.size());
  for (std::size_t i = 0; i < query.size(); ++i) {
    const auto u = static_cast<unsigned char>(query[i]);
    const bool escape = u == '%' && decode_escape(query, i) >= 0;
    if (is_unreserved(u) || kept.find(static_cast<char>(u)) != std::string_view::npos || escape) {
      out.push_back(static_cast<char>(u));
    } else {
      append_escape(out, u);
    }
  }
  return out;
}

}  // namespace hellepoll::http
