#include "hellepoll/http/static_files.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "hellepoll/http/conditional.hpp"
#include "hellepoll/http/http_date.hpp"
#include "hellepoll/http/mime.hpp"
#include "hellepoll/http/path.hpp"
#include "hellepoll/http/range.hpp"
#include "hellepoll/io.hpp"
#include "hellepoll/log.hpp"
#include "hellepoll/scheduler.hpp"
#include "descriptors_ran_out.hpp"
#include "directory_listing.hpp"
#include "log_throttle.hpp"
#include "request_preconditions.hpp"
#include "shared_open.hpp"
#include "trusted_fields.hpp"

namespace hellepoll::http {
namespace {

// The document root as opened: every open of a request is relative to its fd.
struct RootDir {
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  explicit RootDir(const std::string& path) : fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0) {
      dev = st.st_dev;
      ino = st.st_ino;
    }
  }
  RootDir(const RootDir&) = delete;
  ~RootDir() {
    if (fd >= 0) ::close(fd);
  }
};

// The root as named. A deploy that swaps the directory (mv, or a symlink switched to a new
// release) changes what the name means; nginx looks the name up for every request. Here it
// is looked up at most once a second (one stat, on the thread whose request comes first
// after that second), and a new directory is opened and serves every request from then on.
// A request holds the RootDir it started with, so no fd is closed under an open.
class Root {
 public:
  Root(const std::string& path, StaticOptions opts) : options(std::move(opts)), path_(path) {
    auto dir = std::make_shared<const RootDir>(path_);
    if (dir->fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open document root " + path_);
    dir_.store(std::move(dir));
    // O_PATH opens a directory this user may not list or enter: say so now rather than
    // answer every request 403 with nothing in the log.
    if (::faccessat(AT_FDCWD, path_.c_str(), R_OK | X_OK, AT_EACCESS) != 0)
      log(LogLevel::warn, "static: this user cannot read document root {}: every request will get 403", path_);
  }
  std::shared_ptr<const RootDir> current() {
    const std::int64_t now = Scheduler::current().turn_started().time_since_epoch().count();
    std::int64_t next = next_check_.load(std::memory_order_relaxed);
    if (now >= next && next_check_.compare_exchange_strong(next, now + std::int64_t{1'000'000'000},
                                                           std::memory_order_relaxed))
      look_up_again();
    return dir_.load(std::memory_order_acquire);
  }
  const StaticOptions options;

 private:
  void look_up_again() {
    struct stat st {};
    const auto dir = dir_.load(std::memory_order_acquire);
    const int err = ::stat(path_.c_str(), &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    if (err != 0) {
      // Mid-swap, or gone, or out of this user's reach (a server that gave up root, whose
      // root sits under a directory only root may enter): keep serving the directory the
      // name last meant.
      if (!told_gone_.exchange(true))
        log(LogLevel::warn, "static: document root {} {}; serving the directory it was", path_,
            err == EACCES ? "cannot be looked up again by this user (a swap of it will not be seen)"
                            : "is no directory now");
      return;
    }
    told_gone_ = false;
    if (st.st_dev == dir->dev && st.st_ino == dir->ino) return;
    auto fresh = std::make_shared<const RootDir>(path_);
    if (fresh->fd < 0) return;  // swapped again meanwhile: the next look settles it
    log(LogLevel::info, "static: document root {} is another directory now: serving it", path_);
    dir_.store(std::move(fresh), std::memory_order_release);
  }

  std::string path_;
  std::atomic<std::shared_ptr<const RootDir>> dir_;
  std::atomic<std::int64_t> next_check_{0};  // steady clock, ns
  std::atomic<bool> told_gone_{false};
};

// Holds an opened file until it is handed over to a response; lets go of it otherwise.
struct OwnedFile {
  int fd = -1;
  SharedFd* shared = nullptr;
  explicit OwnedFile(const OpenedFile& f) : fd(f.fd), shared(f.shared) {}
  OwnedFile(const OwnedFile&) = delete;
  OwnedFile& operator=(const OwnedFile&) = delete;
  ~OwnedFile() { reset(); }
  void reset() noexcept {
    if (fd >= 0) release_file(fd, shared);
    fd = -1;
    shared = nullptr;
  }
  // The range [offset, offset + length) of the file as a response body, which owns it now.
  FileBody release(std::uint64_t offset, std::uint64_t length) noexcept {
    return FileBody{std::exchange(fd, -1), offset, length, std::exchange(shared, nullptr)};
  }
};

Response not_found() { return Response::error(404, "no such file"); }

Response open_error(int err, std::string_view path) {
  // ENAMETOOLONG: a segment over NAME_MAX or a path over PATH_MAX names no file here
  // (nginx answers 404 too); the client's doing, not a server error.
  if (err == -ENOENT || err == -ENOTDIR || err == -ENAMETOOLONG) return not_found();
  if (err == -EXDEV || err == -ELOOP) {
    // A link in the site that leaves it, or any absolute one (RESOLVE_BENEATH refuses those
    // even when they point inside): worth telling the operator, once; any client can ask
    // for it again and again, so later ones go to debug rather than flood the log.
    static std::atomic<bool> told{false};
    log(told.exchange(true, std::memory_order_relaxed) ? LogLevel::debug : LogLevel::warn,
        "static: refused {}: a symbolic link on its path is absolute, loops or leaves the document root "
        "(where openat2 is missing: is any link; logged once at warn level)",
        path);
    return Response::error(404, "no such file");
  }
  if (err == -EACCES || err == -EPERM) return Response::error(403, "permission denied");
  if (err == -EMFILE || err == -ENFILE || err == -ENOMEM) {
    // Out of descriptors (or kernel memory) for now: the file is fine and a retry may well
    // be served, so 503 with Retry-After rather than nginx's 500. Told at most once a
    // minute: under the load that causes it, a line per request would flood the log.
    // The connection closes, as nginx's 500 does: its descriptor is one a file needs. Kept
    // open, clients that retry on their connection held every descriptor for good and
    // were never served (helper-32: 300 clients, 256 descriptors, 0 of 3,720 served).
    // A few idle connections close too, so that the retry finds a descriptor.
    static detail::LogThrottle once_a_minute(60);
    log(once_a_minute.allow() ? LogLevel::warn : LogLevel::debug, "static: cannot open {}: {} (503 until descriptors free up)", path,
        std::error_code(-err, std::system_category()).message());
    Response r = Response::error(503, "the server is out of file descriptors; try again");
    r.header("Retry-After", "1");
    r.close_connection();
    detail::descriptors_ran_out();
    return r;
  }
  // An open or a listing cut short because the server is stopping (whose writes fail by
  // then anyway): not worth a warning each.
  if (err == -ECANCELED) return Response::error(503, "the server is stopping");
  // ENXIO: a Unix socket or a device without a driver, which open refuses; like a FIFO,
  // not a file to serve.
  if (err == -ENXIO) return Response::error(403, "not a regular file");
  log(LogLevel::warn, "static: cannot open {}: {}", path, std::error_code(-err, std::system_category()).message());
  return Response::error(500, "cannot open the file");
}

// A modification time as Last-Modified may state it: never after now (RFC 9110 §8.8.2.1:
// a time in the future, a clock that was off or a copied timestamp, MUST become the Date).
// Left as it was, If-Modified-Since would carry that future date back, and the file's
// later edits, older than it, would be answered 304 until then. Most files are older than
// the last time the thread looked at the clock, which is then not looked at again.
std::time_t not_after_now(std::time_t mtime) noexcept {
  thread_local std::time_t now_seen = 0;
  if (mtime < now_seen) return mtime;
  now_seen = std::time(nullptr);
  return std::min(mtime, now_seen);
}

// A multipart reply's boundary must not occur in its parts (RFC 2046 §5.1.1): drawn from
// the kernel's random pool for each such reply (they are rare), so no one can write a file
// that holds the boundary it will be sent with. It followed from the file's size and mtime
// before; a counter, even from a random start, can be read off one reply.
// GRND_INSECURE (Linux 5.6+) answers at once even before the pool is seeded, as on a VM
// just booted, where GRND_NONBLOCK fails with EAGAIN: that case used to fall back to the
// time in seconds, the same boundary for every reply of the second, known to anyone.
// (Its value is the kernel's ABI; headers before glibc 2.32 lack the name, and a kernel
// before 5.6 refuses it with EINVAL.) Before 5.6, /dev/urandom never blocks.
#ifndef GRND_INSECURE
#define GRND_INSECURE 0x0004
#endif
std::uint64_t random_boundary_seed() noexcept {
  std::uint64_t seed = 0;
  if (::getrandom(&seed, sizeof seed, GRND_INSECURE) == sizeof seed) return seed;
  if (const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC); fd >= 0) {
    const bool got = ::read(fd, &seed, sizeof seed) == sizeof seed;
    ::close(fd);
    if (got) return seed;
  }
  // No random source at all (a chroot without /dev on an old kernel): distinct per reply.
  thread_local std::uint64_t count = 0;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return (static_cast<std::uint64_t>(now.tv_sec) << 30) ^ static_cast<std::uint64_t>(now.tv_nsec) ^ (++count << 48);
}

// A file's Last-Modified value. The thread remembers the last one it formatted: the same
// few files are asked for again and again, and formatting a date is ~280 instructions.
// The view is good until the thread's next call (serve_file uses it before it suspends).
std::string_view last_modified_field(std::time_t mtime) {
  struct Cache {
    std::time_t mtime = 0;
    char text[http_date_length];
    std::string_view value;  // empty until the first call
  };
  thread_local Cache c;
  if (c.value.empty() || c.mtime != mtime) {
    c.value = format_http_date(mtime, std::span<char, http_date_length>(c.text));
    c.mtime = mtime;
  }
  return c.value;
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

Task<Response> serve_file(std::shared_ptr<Root> root, Request& req) {
  auto norm = normalize_request_path(req.path());
  if (!norm) {
    // The client's doing, answered 403 and in the access log: not a server warning.
    log(LogLevel::debug, "static: refused request path {}", req.path());
    co_return Response::error(403, "this path is not allowed");
  }
  const std::shared_ptr<const RootDir> dir = root->current();
  OpenedFile file = co_await open_shared(dir->fd, norm->rel);
  if (file.fd < 0) co_return open_error(file.error, req.path());
  OwnedFile owned(file);
  std::string rel = norm->rel;

  if (S_ISDIR(file.st.stx_mode)) {
    if (!norm->trailing_slash && !norm->rel.empty()) {
      // Like nginx: a directory is addressed with a trailing slash, so relative links in
      // its index resolve inside it. Built from the normalised path, not the request's:
      // "//evil.example" would otherwise redirect to another host.
      std::string location = url_path_of(rel, true);
      if (!req.query().empty()) location.append("?").append(percent_encode_query(req.query()));
      Response r = Response::html("<html><body><a href=\"" + html_escape(location) + "\">moved</a></body></html>\n", 301);
      r.header("Location", location);
      co_return r;
    }
    std::string index_rel = rel.empty() ? root->options.index_file : rel + "/" + root->options.index_file;
    OpenedFile index = co_await open_shared(dir->fd, index_rel);
    OwnedFile owned_index(index);
    if (index.fd >= 0 && S_ISREG(index.st.stx_mode)) {
      owned.reset();
      std::swap(owned.fd, owned_index.fd);
      std::swap(owned.shared, owned_index.shared);
      file = index;
      rel = index_rel;
    } else {
      owned_index.reset();
      // Only an index that is not there, or is not a file (a directory or a FIFO named
      // index.html), gives the listing: one that cannot be read, or a server out of
      // descriptors (503), is the reason to give.
      if (index.fd < 0 && index.error != -ENOENT && index.error != -ENOTDIR) co_return open_error(index.error, req.path());
      if (!root->options.listing) co_return Response::error(403, "directory listing is disabled");
      // Named, not a ?: temporary inside the co_await: g++ 12 frees such a temporary
      // wrongly ("free(): invalid size").
      std::string shown = rel.empty() ? "/" : "/" + rel + "/";
      ListingPage page = co_await listing_page(file.fd, std::move(shown));
      if (page.error) co_return open_error(page.error, req.path());
      co_return Response::html(std::move(page.html));
    }
  } else if (norm->trailing_slash) {
    co_return not_found();  // "/file.txt/" names a directory, and there is none (nginx: 404)
  }
  if (!S_ISREG(file.st.stx_mode)) co_return Response::error(403, "not a regular file");

  const std::uint64_t size = file.st.stx_size;
  const std::time_t mtime = not_after_now(static_cast<std::time_t>(file.st.stx_mtime.tv_sec));
  ETagBuffer etag_buf;
  const std::string_view etag = make_etag(etag_buf, size, file.st.stx_mtime.tv_sec, file.st.stx_mtime.tv_nsec);
  const std::string_view last_modified = last_modified_field(mtime);
  const std::string_view type = mime_type_for(rel);

  auto validators = [&](Response& r) {
    detail::TrustedFields::add(r, "ETag", etag);
    detail::TrustedFields::add(r, "Last-Modified", last_modified);
  };

  if (req.head().has_preconditions) {
    const detail::RequestConditionals cond(req);
    switch (evaluate_preconditions(cond.fields, etag, mtime)) {
      case Precondition::not_modified: {
        Response r(304);
        validators(r);
        co_return r;
      }
      case Precondition::precondition_failed: co_return Response::error(412, "precondition failed");
      case Precondition::proceed: break;
    }
  }

  Response r(200);
  detail::TrustedFields::static_content_type(r, type);
  validators(r);
  detail::TrustedFields::add(r, "Accept-Ranges", "bytes");

  // RFC 9110 §14.2: Range is defined for GET only; any other method ignores it. Neither
  // field is a list, so two lines of one are no valid value: the full 200, as for any
  // invalid Range or If-Range. (§5.3 would read them joined by a comma, and "bytes=0-1"
  // then "5-6" join into a valid range list: so the count decides, not the joined text.)
  std::string joined_range, joined_if_range;  // non-empty: the field came more than once
  auto range_header = req.method_kind() == Method::GET ? req.header_list("Range", joined_range) : std::nullopt;
  auto if_range = req.header_list("If-Range", joined_if_range);
  if (!joined_range.empty() || !joined_if_range.empty()) range_header.reset();
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
        r.file(owned.release(ranges[0].first, ranges[0].length()));
        co_return r;
      }
      const std::string boundary = make_boundary(random_boundary_seed());
      std::vector<FilePart> parts;
      parts.reserve(ranges.size());
      for (const ByteRange& br : ranges)
        parts.push_back({multipart_part_header(boundary, type, br, size), br.first, br.length()});
      r.content_type("multipart/byteranges; boundary=" + boundary);
      r.file_parts(owned.release(0, 0), std::move(parts), multipart_close(boundary));
      co_return r;
    }
  }
  r.file(owned.release(0, size));
  co_return r;
}

}  // namespace

Handler static_files(const std::string& root, StaticOptions options) {
  auto state = std::make_shared<Root>(root, std::move(options));
  return [state](Request& req) { return serve_file(state, req); };
}

}  // namespace hellepoll::http
