// A handler that serves a directory tree:
//
//   router.get("/*", static_files("/srv/www", {.listing = true}));
//
// MIME types from the extension; ETag and Last-Modified with If-None-Match,
// If-Modified-Since (304), If-Match, If-Unmodified-Since (412) and If-Range; single
// ranges (206), multiple ranges (multipart/byteranges), unsatisfiable ranges (416);
// index.html for directories, an optional HTML listing; files of any size (64-bit
// offsets). Paths are normalised and files opened with openat2(RESOLVE_BENEATH) relative
// to the root, so nothing outside it can be read: not through "..", encoded forms, NUL
// bytes, nor symlinks that leave the root (403 or 404, logged). The root's name is looked
// up again at most once a second: a directory or symlink swapped in its place is served.
//
// Mounted under a prefix, the whole path names the file, as nginx's `root` does (not its
// `alias`): `router.get("/static/*", static_files("/srv/www"))` serves /static/app.js
// from /srv/www/static/app.js.
#pragma once

#include <string>

#include "hellepoll/http/router.hpp"

namespace hellepoll::http {

struct StaticOptions {
  bool listing = false;                   // an HTML index for directories without index.html
  std::string index_file = "index.html";  // served for a directory
};

// Throws std::system_error if `root` cannot be opened as a directory.
Handler static_files(const std::string& root, StaticOptions options = {});

}  // namespace hellepoll::http
