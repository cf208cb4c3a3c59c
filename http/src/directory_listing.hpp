// The HTML page that lists a directory (the static handler's optional listing).
#pragma once

#include <string>
#include <string_view>

namespace hellepoll::http {

// Lists the directory open as `dir_fd` (names escaped, directories marked with '/'),
// titled with `url_path`. Reads through an open of its own, so several requests may list
// through one shared fd at once.
std::string listing_page(int dir_fd, std::string_view url_path);

}  // namespace hellepoll::http
