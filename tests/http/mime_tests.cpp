#include <boost/test/unit_test.hpp>
#include <string_view>

#include "hellepoll/http/mime.hpp"

namespace http_mime_tests {

using hellepoll::http::mime_type_for;
using namespace std::string_view_literals;

BOOST_AUTO_TEST_SUITE(mime_type)

BOOST_AUTO_TEST_CASE(common_web_types) {
  BOOST_TEST(mime_type_for("index.html") == "text/html; charset=utf-8"sv);
  BOOST_TEST(mime_type_for("old.htm") == "text/html; charset=utf-8"sv);
  BOOST_TEST(mime_type_for("site.css") == "text/css; charset=utf-8"sv);
  BOOST_TEST(mime_type_for("app.js") == "text/javascript; charset=utf-8"sv);
  BOOST_TEST(mime_type_for("mod.mjs") == "text/javascript; charset=utf-8"sv);
  BOOST_TEST(mime_type_for("data.json") == "application/json"sv);
  BOOST_TEST(mime_type_for("app.js.map") == "application/json"sv);
  BOOST_TEST(mime_type_for("notes.txt") == "text/plain; charset=utf-8"sv);
  BOOST_TEST(mime_type_for("README.md") == "text/markdown; charset=utf-8"sv);
  BOOST_TEST(mime_type_for("feed.xml") == "application/xml"sv);
  BOOST_TEST(mime_type_for("logo.svg") == "image/svg+xml"sv);
  BOOST_TEST(mime_type_for("a.png") == "image/png"sv);
  BOOST_TEST(mime_type_for("a.jpg") == "image/jpeg"sv);
  BOOST_TEST(mime_type_for("a.jpeg") == "image/jpeg"sv);
  BOOST_TEST(mime_type_for("a.gif") == "image/gif"sv);
  BOOST_TEST(mime_type_for("a.webp") == "image/webp"sv);
  BOOST_TEST(mime_type_for("a.avif") == "image/avif"sv);
  BOOST_TEST(mime_type_for("favicon.ico") == "image/vnd.microsoft.icon"sv);
  BOOST_TEST(mime_type_for("a.bmp") == "image/bmp"sv);
  BOOST_TEST(mime_type_for("f.woff") == "font/woff"sv);
  BOOST_TEST(mime_type_for("f.woff2") == "font/woff2"sv);
  BOOST_TEST(mime_type_for("f.ttf") == "font/ttf"sv);
  BOOST_TEST(mime_type_for("f.otf") == "font/otf"sv);
  BOOST_TEST(mime_type_for("m.wasm") == "application/wasm"sv);
  BOOST_TEST(mime_type_for("d.pdf") == "application/pdf"sv);
  BOOST_TEST(mime_type_for("d.zip") == "application/zip"sv);
  BOOST_TEST(mime_type_for("d.tar.gz") == "application/gzip"sv);
  BOOST_TEST(mime_type_for("d.tar") == "application/x-tar"sv);
  BOOST_TEST(mime_type_for("s.mp3") == "audio/mpeg"sv);
  BOOST_TEST(mime_type_for("v.mp4") == "video/mp4"sv);
  BOOST_TEST(mime_type_for("v.webm") == "video/webm"sv);
  BOOST_TEST(mime_type_for("s.ogg") == "audio/ogg"sv);
  BOOST_TEST(mime_type_for("s.wav") == "audio/wav"sv);
  BOOST_TEST(mime_type_for("t.csv") == "text/csv; charset=utf-8"sv);
  // The first and last entries of the table, where an off-by-one in the search would show.
  BOOST_TEST(mime_type_for("a.7z") == "application/x-7z-compressed"sv);
  BOOST_TEST(mime_type_for("a.zst") == "application/zstd"sv);
}

BOOST_AUTO_TEST_CASE(extension_is_case_insensitive) {
  BOOST_TEST(mime_type_for("INDEX.HTML") == "text/html; charset=utf-8"sv);
  BOOST_TEST(mime_type_for("Photo.JpG") == "image/jpeg"sv);
  BOOST_TEST(mime_type_for("font.WOFF2") == "font/woff2"sv);
}

BOOST_AUTO_TEST_CASE(only_the_last_segment_and_last_dot_count) {
  BOOST_TEST(mime_type_for("/srv/www/a.b/page.html") == "text/html; charset=utf-8"sv);
  BOOST_TEST(mime_type_for("/srv/www.html/readme") == "application/octet-stream"sv);
  BOOST_TEST(mime_type_for("archive.html.gz") == "application/gzip"sv);
}

BOOST_AUTO_TEST_CASE(unknown_or_missing_extension_is_octet_stream) {
  BOOST_TEST(mime_type_for("") == "application/octet-stream"sv);
  BOOST_TEST(mime_type_for("Makefile") == "application/octet-stream"sv);
  BOOST_TEST(mime_type_for("trailing.") == "application/octet-stream"sv);
  BOOST_TEST(mime_type_for(".htaccess") == "application/octet-stream"sv);  // a dot-file, not an extension
  BOOST_TEST(mime_type_for("dir/.html") == "application/octet-stream"sv);
  BOOST_TEST(mime_type_for("a.exe") == "application/octet-stream"sv);
  BOOST_TEST(mime_type_for("a.averyveryverylongextension") == "application/octet-stream"sv);
  BOOST_TEST(mime_type_for("a.htm\0l"sv) == "application/octet-stream"sv);
  BOOST_TEST(mime_type_for("a.ht") == "application/octet-stream"sv);  // a prefix of "htm" is not "htm"
  BOOST_TEST(mime_type_for("a.htmlx") == "application/octet-stream"sv);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_mime_tests
