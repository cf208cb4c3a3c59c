// The HTML page that lists a directory (the static handler's optional listing).
#pragma once

#include <cstddef>
#include <string>

#include "hellepoll/task.hpp"

namespace hellepoll::http {

struct ListingPage {
  std::string html;
  int error = 0;  // -errno when the directory could not be read; html is then empty
};

// Lists the directory open as `dir_fd` (names escaped, directories and links to them
// marked with '/'), titled with `shown_path`, the directory's path as text ("/a b/", not
// "/a%20b/"). Reads through an open of its own, so several requests may list through one
// shared fd at once; when that open fails (out of descriptors since the directory itself
// opened, say), returns its error, not an empty listing.
//
// Lets the thread's other coroutines run after every `slice` entries read and every
// `slice` written: a directory of 50,000 names takes ~70 ms to list, which would
// otherwise hold up every other connection of the thread for as long. Listings longer
// than a slice are built one at a time per thread, the others waiting their turn after
// their first slice (memory: each holds its page until done). While the scheduler is
// stopping, a listing gives up at its next pause: error -ECANCELED.
Task<ListingPage> listing_page(int dir_fd, std::string shown_path, std::size_t slice = 1024);

}  // namespace hellepoll::http
