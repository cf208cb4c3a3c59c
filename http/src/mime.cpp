#include "hellepoll/http/mime.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

namespace hellepoll::http {
namespace {

struct MimeEntry {
  std::string_view ext;  // lower case, no dot
  std::string_view type;
};

constexpr std::string_view text_html = "text/html; charset=utf-8";
constexpr std::string_view text_js = "text/javascript; charset=utf-8";  // RFC 9239 §6
constexpr std::string_view json = "application/json";  // RFC 8259 §11: no charset parameter

// Sorted by extension (checked below) so lookup is a binary search over static data.
constexpr auto table = std::to_array<MimeEntry>({
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apng", "image/apng"},
    {"atom", "application/atom+xml"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"cjs", text_js},
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"eot", "application/vnd.ms-fontobject"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", text_html},
    {"html", text_html},
    {"ico", "image/vnd.microsoft.icon"},
    {"ics", "text/calendar; charset=utf-8"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", text_js},
    {"json", json},
    {"jsonld", "application/ld+json"},
    {"jxl", "image/jxl"},
    {"m4a", "audio/mp4"},
    {"map", json},  // source maps
    {"md", "text/markdown; charset=utf-8"},
    {"mjs", text_js},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpeg", "video/mpeg"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"rss", "application/rss+xml"},
    {"rtf", "application/rtf"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},  // browsers refuse streaming compilation without it
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xml", "application/xml"},
    {"xz", "application/x-xz"},
    {"yaml", "application/yaml"},  // RFC 9512
    {"yml", "application/yaml"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
});

constexpr bool ext_less(const MimeEntry& a, const MimeEntry& b) { return a.ext < b.ext; }
static_assert(std::ranges::is_sorted(table, ext_less), "keep the MIME table sorted");
static_assert(std::ranges::adjacent_find(table, {}, &MimeEntry::ext) == table.end(), "duplicate extension");

constexpr std::size_t longest_ext =
    std::ranges::max(table, {}, [](const MimeEntry& e) { return e.ext.size(); }).ext.size();

constexpr char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The extension of the last path segment, or empty. A leading dot names a hidden file,
// not an extension (".bashrc" has none), as in Python's os.path.splitext.
constexpr std::string_view extension_of(std::string_view path) noexcept {
  if (auto slash = path.rfind('/'); slash != std::string_view::npos) path.remove_prefix(slash + 1);
  auto dot = path.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return path.substr(dot + 1);
}

}  // namespace

std::string_view mime_type_for(std::string_view path) noexcept {
  std::string_view ext = extension_of(path);
  if (ext.empty() || ext.size() > longest_ext) return default_mime_type;
  std::array<char, longest_ext> buf{};
  std::ranges::transform(ext, buf.begin(), to_lower);
  std::string_view lower(buf.data(), ext.size());
  auto it = std::ranges::lower_bound(table, lower, {}, &MimeEntry::ext);
  return it != table.end() && it->ext == lower ? it->type : default_mime_type;
}

}  // namespace hellepoll::http
