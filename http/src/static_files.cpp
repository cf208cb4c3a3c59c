#include "hellepoll/http/static_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <system_error>
#include <vector>

#include "hellepoll/http/conditional.hpp"
#include "hellepoll/http/http_date.hpp"
#include "hellepoll/http/mime.hpp"
#include "hellepoll/http/path.hpp"
#include "hellepoll/http/range.hpp"
#include "hellepoll/io.hpp"
#include "hellepoll/log.hpp"

namespace hellepoll::http {
namespace {

struct Root {
  int fd = -1;
  StaticOptions options;
  ~Root() {
    if (fd >= 0) ::close(fd);
  }
};

// Closes an fd unless it was handed over to a response.
struct OwnedFd {
  int fd = -1;
  ~OwnedFd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

struct FileInfo {
  int fd = -1;
  struct statx st {};
  int error = 0;  // -errno
};

// Opens `rel` (relative to the root; "" is the root itself) so that the kernel refuses
// any escape: ".." and absolute or outward symlinks fail with EXDEV.
Task<FileInfo> open_beneath(int root_fd, std::string rel) {
  FileInfo info;
  if (rel.empty()) rel = ".";
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // O_NONBLOCK: never hang on a FIFO
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  int fd = co_await io::openat2(root_fd, rel.c_str(), &how);
  if (fd < 0) {
    info.error = fd;
    co_return info;
  }
  info.fd = fd;
  // The inode is in memory once the file is open, so stat'ing the fd cannot wait for the
  // disk: a direct call is cheaper than io_uring's statx (always punted to a worker) or a
  // trip through the epoll file pool.
  int r = ::statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &info.st) == 0 ? 0 : -errno;
  if (r < 0) {
    ::close(fd);
    info.fd = -1;
    info.error = r;
    co_return info;
  }
  // The O_NONBLOCK stays: reads ignore it (the io_uring backend clears it itself on the
  // first read that finds the file's bytes not cached).
  co_return info;
}

Response not_found() { return Response::error(404, "no such file"); }

Response open_error(int err, std::string_view path) {
  // ENAMETOOLONG: a segment over NAME_MAX or a path over PATH_MAX names no file here
  // (nginx answers 404 too); the client's doing, not a server error.
  if (err == -ENOENT || err == -ENOTDIR || err == -ENAMETOOLONG) return not_found();
  if (err == -EXDEV || err == -ELOOP) {
    log(LogLevel::warn, "static: refused {}: it resolves outside the document root", path);
    return Response::error(404, "no such file");
  }
  if (err == -EACCES || err == -EPERM) return Response::error(403, "permission denied");
  log(LogLevel::warn, "static: cannot open {}: {}", path, std::error_code(-err, std::system_category()).message());
  return Response::error(500, "cannot open the file");
}

std::string listing_page(int dir_fd, std::string_view url_path) {
  std::vector<std::pair<std::string, bool>> entries;  // name, is_dir
  int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (DIR* d = dup >= 0 ? ::fdopendir(dup) : nullptr) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      entries.emplace_back(std::move(name), e->d_type == DT_DIR);
    }
    ::closedir(d);
  } else if (dup >= 0) {
    ::close(dup);
  }
  std::sort(entries.begin(), entries.end());
  std::string title = html_escape(url_path);
  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of " + title +
                     "</title></head>\n<body><h1>Index of " + title + "</h1>\n<ul>\n";
  if (url_path != "/") html += "<li><a href=\"../\">../</a></li>\n";
  for (const auto& [name, is_dir] : entries) {
    std::string shown = html_escape(name) + (is_dir ? "/" : "");
    html += "<li><a href=\"" + html_escape(percent_encode_path_segment(name)) + (is_dir ? "/" : "") + "\">" + shown +
            "</a></li>\n";
  }
  html += "</ul></body></html>\n";
  return html;
}

// The canonical URL path of `rel` (a normalised relative path): each segment
// percent-encoded, one '/' between them, never "//" at the start, which a browser would
// read as another host's address.
std::string url_path_of(std::string_view rel, bool directory) {
  std::string url = "/";
  while (!rel.empty()) {
    const std::size_t slash = rel.find('/');
    url += percent_encode_path_segment(rel.substr(0, slash));
    if (slash == std::string_view::npos) break;
    url += '/';
    rel.remove_prefix(slash + 1);
  }
  if (directory && url.size() > 1) url += '/';
  return url;
}

// If-Match or If-None-Match with all its lines (RFC 9110 §5.3). A field that is there but
// empty is a list with no members, which matches nothing (§13.1.1: If-Match then fails),
// so it is passed as ",": an empty view would mean the field is absent.
std::string_view entity_tag_list(const Request& req, std::string_view name, std::string& joined) {
  auto v = req.header_list(name, joined);
  if (!v) return {};
  return v->empty() ? std::string_view(",") : *v;
}

std::string_view header_or_empty(const Request& req, std::string_view name) {
  auto v = req.header(name);
  return v ? *v : std::string_view{};
}

Task<Response> serve_file(std::shared_ptr<const Root> root, Request& req) {
  auto norm = normalize_request_path(req.path());
  if (!norm) {
    log(LogLevel::warn, "static: refused request path {}", req.path());
    co_return Response::error(403, "this path is not allowed");
  }
  FileInfo file = co_await open_beneath(root->fd, norm->rel);
  if (file.fd < 0) co_return open_error(file.error, req.path());
  OwnedFd owned{file.fd};
  std::string rel = norm->rel;

  if (S_ISDIR(file.st.stx_mode)) {
    if (!norm->trailing_slash && !norm->rel.empty()) {
      // Like nginx: a directory is addressed with a trailing slash, so relative links in
      // its index resolve inside it. Built from the normalised path, not the request's:
      // "//evil.example" would otherwise redirect to another host.
      std::string location = url_path_of(rel, true);
      if (!req.query().empty()) location.append("?").append(req.query());
      Response r = Response::html("<html><body><a href=\"" + html_escape(location) + "\">moved</a></body></html>\n", 301);
      r.header("Location", location);
      co_return r;
    }
    std::string index_rel = rel.empty() ? root->options.index_file : rel + "/" + root->options.index_file;
    FileInfo index = co_await open_beneath(root->fd, index_rel);
    if (index.fd >= 0 && S_ISREG(index.st.stx_mode)) {
      ::close(owned.release());
      owned.fd = index.fd;
      file = index;
      rel = index_rel;
    } else {
      if (index.fd >= 0) ::close(index.fd);
      if (!root->options.listing) co_return Response::error(403, "directory listing is disabled");
      co_return Response::html(listing_page(file.fd, url_path_of(rel, true)));
    }
  } else if (norm->trailing_slash) {
    co_return not_found();  // "/file.txt/" names a directory, and there is none (nginx: 404)
  }
  if (!S_ISREG(file.st.stx_mode)) co_return Response::error(403, "not a regular file");

  const std::uint64_t size = file.st.stx_size;
  const std::time_t mtime = static_cast<std::time_t>(file.st.stx_mtime.tv_sec);
  ETagBuffer etag_buf;
  const std::string_view etag = make_etag(etag_buf, size, file.st.stx_mtime.tv_sec, file.st.stx_mtime.tv_nsec);
  char date_buf[http_date_length];
  const std::string_view last_modified = format_http_date(mtime, std::span<char, http_date_length>(date_buf));
  const std::string_view type = mime_type_for(rel);

  auto validators = [&](Response& r) {
    r.header("ETag", etag);
    r.header("Last-Modified", last_modified);
  };

  std::string if_match_lines, if_none_match_lines;
  ConditionalHeaders cond{entity_tag_list(req, "If-Match", if_match_lines),
                          entity_tag_list(req, "If-None-Match", if_none_match_lines),
                          header_or_empty(req, "If-Modified-Since"), header_or_empty(req, "If-Unmodified-Since")};
  switch (evaluate_preconditions(cond, etag, mtime)) {
    case Precondition::not_modified: {
      Response r(304);
      validators(r);
      co_return r;
    }
    case Precondition::precondition_failed: co_return Response::error(412, "precondition failed");
    case Precondition::proceed: break;
  }

  Response r(200);
  r.content_type(type);
  validators(r);
  r.header("Accept-Ranges", "bytes");

  // RFC 9110 §14.2: Range is defined for GET only; any other method ignores it.
  auto range_header = req.method_kind() == Method::GET ? req.header("Range") : std::nullopt;
  auto if_range = req.header("If-Range");
  if (range_header && (!if_range || if_range_allows_partial(*if_range, etag, mtime))) {
    RangeSpec spec = parse_range(*range_header, size);
    if (spec.kind() == RangeSpec::Kind::unsatisfiable) {
      ContentRangeBuffer cr;
      Response bad = Response::error(416, "the requested range is not satisfiable");
      bad.header("Content-Range", format_unsatisfied_range(cr, size));
      co_return bad;
    }
    if (spec.kind() == RangeSpec::Kind::satisfiable) {
      auto ranges = spec.ranges();
      r.status(206);
      if (ranges.size() == 1) {
        ContentRangeBuffer cr;
        r.header("Content-Range", format_content_range(cr, ranges[0], size));
        r.file(FileBody{owned.release(), ranges[0].first, ranges[0].length()});
        co_return r;
      }
      const std::string boundary = make_boundary(size ^ static_cast<std::uint64_t>(mtime) ^ ranges.size());
      std::vector<FilePart> parts;
      parts.reserve(ranges.size());
      for (const ByteRange& br : ranges)
        parts.push_back({multipart_part_header(boundary, type, br, size), br.first, br.length()});
      r.content_type("multipart/byteranges; boundary=" + boundary);
      r.file_parts(owned.release(), std::move(parts), multipart_close(boundary));
      co_return r;
    }
  }
  r.file(FileBody{owned.release(), 0, size});
  co_return r;
}

}  // namespace

Handler static_files(const std::string& root, StaticOptions options) {
  auto state = std::make_shared<Root>();
  state->fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (state->fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open document root " + root);
  state->options = std::move(options);
  return [state](Request& req) { return serve_file(state, req); };
}

}  // namespace hellepoll::http
