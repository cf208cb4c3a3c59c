#include "directory_listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "hellepoll/http/path.hpp"

namespace hellepoll::http {

std::string listing_page(int dir_fd, std::string_view shown_path, int& error) {
  std::vector<std::pair<std::string, bool>> entries;  // name, is_dir
  // A fresh open of the directory, not a dup: readdir moves the position of the open file
  // it reads, and other requests may be listing through the same one (shared_open.hpp).
  int own = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = own >= 0 ? ::fdopendir(own) : nullptr;
  if (!d) {
    // Out of descriptors since the directory itself opened, say: not an empty listing.
    error = -errno;
    if (own >= 0) ::close(own);
    return {};
  }
  error = 0;
  {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      // Hidden names stay unlisted (nginx's autoindex does the same): ".git", ".env" and
      // the like are rarely meant to be advertised, even where they can be fetched.
      if (name[0] == '.') continue;
      bool is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) {
        // A link to a directory is listed as one ("name/", as nginx does), or following
        // it would cost a redirect; so is any entry the file system did not type.
        struct stat st {};
        is_dir = ::fstatat(::dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
      }
      entries.emplace_back(std::move(name), is_dir);
    }
    ::closedir(d);
  }
  std::sort(entries.begin(), entries.end());
  std::string title = html_escape(shown_path);
  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of " + title +
                     "</title></head>\n<body><h1>Index of " + title + "</h1>\n<ul>\n";
  if (shown_path != "/") html += "<li><a href=\"../\">../</a></li>\n";
  for (const auto& [name, is_dir] : entries) {
    std::string shown = html_escape(name) + (is_dir ? "/" : "");
    html += "<li><a href=\"" + html_escape(percent_encode_path_segment(name)) + (is_dir ? "/" : "") + "\">" + shown +
            "</a></li>\n";
  }
  html += "</ul></body></html>\n";
  return html;
}

}  // namespace hellepoll::http
