// The HTML page that lists a directory (the static handler's optional listing).
#pragma once

#include <string>
#include <string_view>

namespace hellepoll::http {

// Lists the directory open as `dir_fd` (names escaped, directories and links to them
// marked with '/'), titled with `shown_path`, the directory's path as text ("/a b/", not
// "/a%20b/"). Reads through an open of its own, so several requests may list
// through one shared fd at once; when that open fails, returns "" and sets `error`
// (-errno; 0 otherwise).
std::string listing_page(int dir_fd, std::string_view shown_path, int& error);

}  // namespace hellepoll::http
