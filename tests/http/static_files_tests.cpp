// The static file handler, in process and through the `hellepoll serve` binary, on both
// backends: byte-exact downloads, every Range form, conditional requests, HEAD, index and
// listing, traversal attempts, a file truncated mid-send, bounded memory.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "hellepoll/http/http_date.hpp"
#include "hellepoll/http/static_files.hpp"
#include "hellepoll/sleep.hpp"
#include "support/backends.hpp"
#include "support/stderr_capture.hpp"
#include "support/temp_dir.hpp"
#include "support/page_cache.hpp"
#include "support_client.hpp"

namespace http_static_files_tests {

using namespace hellepoll;
using namespace hellepoll::http;
using namespace hellepoll::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline std::string bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint64_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    c = static_cast<char>(x >> 56);
  }
  return s;
}

struct Site {
  fs::path root;
  fs::path outside;
  std::string small = "Hello, static world!\n";
  std::string mib = bytes(1 << 20, 7);
  Site() {
    const fs::path base = test::make_temp_dir("/tmp/hellepoll-static-XXXXXX");
    root = base / "www";
    outside = base / "secret.txt";
    fs::create_directories(root / "dir" / "sub");
    fs::create_directories(root / "noindex");
    write(outside, "top secret");
    write(root / "small.txt", small);
    write(root / "one.bin", mib);
    write(root / "dir" / "index.html", "<p>index</p>");
    write(root / "noindex" / "a <b>&.txt", "x");
    write(root / "%2e%2e", "literal name");
    fs::create_symlink(outside, root / "abs-link");
    fs::create_symlink("../secret.txt", root / "rel-link");
    fs::create_symlink("small.txt", root / "good-link");
    fs::create_symlink(root / "small.txt", root / "abs-inside-link");
    ::mkfifo((root / "fifo").c_str(), 0644);
    // index.html names no file here: a directory, and a FIFO.
    fs::create_directories(root / "odd" / "index.html");
    fs::create_directories(root / "odd2");
    ::mkfifo((root / "odd2" / "index.html").c_str(), 0644);
    write(root / "noindex" / ".hidden", "h");
    fs::create_directories(root / "noindex" / ".git");
    // A Unix socket in the site: open(2) refuses it with ENXIO.
    sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = (root / "sock").string();
    if (path.size() < sizeof addr.sun_path) std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    BOOST_REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  int sock = -1;
  ~Site() {
    ::close(sock);
    std::error_code ec;
    fs::remove_all(root.parent_path(), ec);
  }
  static void write(const fs::path& p, const std::string& data) { std::ofstream(p, std::ios::binary) << data; }
};

inline Router router_for(const Site& site, bool listing) {
  Router r;
  r.get("/*", static_files(site.root.string(), {.listing = listing}));
  return r;
}

// One request on a fresh connection.
inline Task<RawResponse> fetch(SocketAddress at, std::string request, bool head = false) {
  Client c = co_await Client::connect(at);
  co_await c.send(request);
  co_return co_await c.read_response(head, 20s);
}

inline std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

BOOST_AUTO_TEST_SUITE(static_files_suite)

// Each file's own validators and type, whatever was served just before on the thread
// (serve_file keeps the last Last-Modified it formatted, and points at the MIME table).
BOOST_DATA_TEST_CASE(alternating_files_each_get_their_own_last_modified_and_type, test::backends, backend) {
  Site site;
  Site::write(site.root / "old.html", "<p>old</p>");
  Site::write(site.root / "new.json", "{}");
  const timespec old_time[2] = {{784111777, 0}, {784111777, 0}};      // Sun, 06 Nov 1994 08:49:37 GMT
  const timespec new_time[2] = {{1000000000, 0}, {1000000000, 0}};    // Sun, 09 Sep 2001 01:46:40 GMT
  BOOST_REQUIRE(::utimensat(AT_FDCWD, (site.root / "old.html").c_str(), old_time, 0) == 0);
  BOOST_REQUIRE(::utimensat(AT_FDCWD, (site.root / "new.json").c_str(), new_time, 0) == 0);
  Router r = router_for(site, false);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    for (int i = 0; i < 3; ++i) {
      auto a = co_await fetch(at, get("/old.html"));
      BOOST_TEST(a.header("Last-Modified") == "Sun, 06 Nov 1994 08:49:37 GMT");
      BOOST_TEST(a.header("Content-Type") == "text/html; charset=utf-8");
      BOOST_TEST(a.body == "<p>old</p>");
      auto b = co_await fetch(at, get("/new.json"));
      BOOST_TEST(b.header("Last-Modified") == "Sun, 09 Sep 2001 01:46:40 GMT");
      BOOST_TEST(b.header("Content-Type") == "application/json");
      BOOST_TEST(b.body == "{}");
      // A 304 carries the validators too.
      auto c = co_await fetch(at, get("/old.html", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
      BOOST_TEST(c.status == 304);
      BOOST_TEST(c.header("Last-Modified") == "Sun, 06 Nov 1994 08:49:37 GMT");
    }
  });
}

BOOST_DATA_TEST_CASE(byte_exact_downloads_and_head, test::backends, backend) {
  Site site;
  std::string big = bytes(100u << 20, 3);  // 100 MiB
  Site::write(site.root / "big.bin", big);
  Router r = router_for(site, false);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    auto small = co_await fetch(at, get("/small.txt"));
    BOOST_TEST(small.status == 200);
    BOOST_TEST(small.body == site.small);
    BOOST_TEST(small.header("Content-Type") == "text/plain; charset=utf-8");
    BOOST_TEST(small.header("Accept-Ranges") == "bytes");
    BOOST_TEST(small.header("ETag") != "<absent>");
    BOOST_TEST(small.header("Last-Modified") != "<absent>");
    auto one = co_await fetch(at, get("/one.bin"));
    BOOST_TEST((one.body == site.mib));
    auto hundred = co_await fetch(at, get("/big.bin"));
    BOOST_TEST(hundred.body.size() == big.size());
    BOOST_TEST((hundred.body == big));
    auto head = co_await fetch(at, "HEAD /one.bin HTTP/1.1\r\nHost: t\r\n\r\n", true);
    BOOST_TEST(head.status == 200);
    BOOST_TEST(head.header("Content-Length") == std::to_string(site.mib.size()));
    BOOST_TEST(head.body.empty());
    auto link = co_await fetch(at, get("/good-link"));
    BOOST_TEST(link.status == 200);
    BOOST_TEST(link.body == site.small);
    // RESOLVE_BENEATH refuses every absolute link, even one into the site (docs/SECURITY.md).
    auto absolute = co_await fetch(at, get("/abs-inside-link"));
    BOOST_TEST(absolute.status == 404);
  });
}

// The server's end of the client's connection, found among this process's fds (the
// server runs in process): the socket whose peer is the client's local address.
int server_end_of(Client& c) {
  auto client = c.stream().local_address();
  BOOST_REQUIRE(client);
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(entry.path().filename().string());
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (SocketAddress::from(reinterpret_cast<sockaddr*>(&peer), len) == *client) return fd;
  }
  return -1;
}

int notsent_lowat_of(int fd) {
  int value = 0;
  socklen_t len = sizeof value;
  BOOST_REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, &len) == 0);
  return value;
}

// A file body sent by sendfile leaves at most 64 KiB unsent in the socket (the rest stays
// in the page cache until the peer's window takes it); a small response changes nothing.
BOOST_DATA_TEST_CASE(a_large_file_keeps_little_unsent_data_in_the_socket, test::backends, backend) {
  Site site;
  Router r = router_for(site, false);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    Client c = co_await Client::connect(at);
    co_await c.send(get("/small.txt"));
    auto small = co_await c.read_response();
    BOOST_TEST(small.body == site.small);
    const int fd = server_end_of(c);
    BOOST_REQUIRE(fd >= 0);
    BOOST_TEST(notsent_lowat_of(fd) == 0);  // 0: the system's default (net.ipv4.tcp_notsent_lowat)
    co_await c.send(get("/one.bin"));
    auto one = co_await c.read_response();
    BOOST_TEST((one.body == site.mib));
    BOOST_TEST(notsent_lowat_of(fd) == 64 * 1024);
  });
}

BOOST_DATA_TEST_CASE(every_range_form, test::backends, backend) {
  Site site;
  Router r = router_for(site, false);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    const std::string& f = site.mib;
    const std::string size = std::to_string(f.size());
    auto first = co_await fetch(at, get("/one.bin", "Range: bytes=0-99\r\n"));
    BOOST_TEST(first.status == 206);
    BOOST_TEST(first.header("Content-Range") == "bytes 0-99/" + size);
    BOOST_TEST((first.body == f.substr(0, 100)));
    auto suffix = co_await fetch(at, get("/one.bin", "Range: bytes=-10\r\n"));
    BOOST_TEST((suffix.body == f.substr(f.size() - 10)));
    auto open = co_await fetch(at, get("/one.bin", "Range: bytes=1048000-\r\n"));
    BOOST_TEST((open.body == f.substr(1048000)));
    BOOST_TEST(open.header("Content-Range") == "bytes 1048000-1048575/" + size);

    auto multi = co_await fetch(at, get("/one.bin", "Range: bytes=0-9,100-109,-5\r\n"));
    BOOST_TEST(multi.status == 206);
    const std::string ct = multi.header("Content-Type");
    BOOST_REQUIRE(ct.rfind("multipart/byteranges; boundary=", 0) == 0);
    const std::string boundary = ct.substr(ct.find('=') + 1);
    BOOST_TEST(multi.header("Content-Length") == std::to_string(multi.body.size()));
    // Each part: delimiter, its own Content-Range, then exactly its bytes.
    std::size_t pos = 0;
    for (auto [a, b] : {std::pair<std::size_t, std::size_t>{0, 9}, {100, 109}, {f.size() - 5, f.size() - 1}}) {
      pos = multi.body.find("--" + boundary, pos);
      BOOST_REQUIRE(pos != std::string::npos);
      std::string cr = "Content-Range: bytes " + std::to_string(a) + "-" + std::to_string(b) + "/" + size + "\r\n\r\n";
      pos = multi.body.find(cr, pos);
      BOOST_REQUIRE(pos != std::string::npos);
      pos += cr.size();
      BOOST_TEST((multi.body.substr(pos, b - a + 1) == f.substr(a, b - a + 1)));
    }
    BOOST_TEST(multi.body.find("--" + boundary + "--", pos) != std::string::npos);
    // The same request again: another boundary. One that followed from the file (its size
    // and mtime, as before) could be written into the file by whoever writes the file.
    auto again = co_await fetch(at, get("/one.bin", "Range: bytes=0-9,100-109,-5\r\n"));
    BOOST_TEST(again.header("Content-Type") != ct);
    BOOST_TEST(again.header("Content-Type").starts_with("multipart/byteranges; boundary=hellepoll-"));

    auto bad = co_await fetch(at, get("/small.txt", "Range: bytes=500-600\r\n"));
    BOOST_TEST(bad.status == 416);
    BOOST_TEST(bad.header("Content-Range") == "bytes */" + std::to_string(site.small.size()));
    auto ignored = co_await fetch(at, get("/small.txt", "Range: items=0-1\r\n"));
    BOOST_TEST(ignored.status == 200);
    BOOST_TEST(ignored.body == site.small);

    // If-Range: a matching validator gives the range, a stale one the whole file.
    auto full = co_await fetch(at, get("/small.txt"));
    auto ranged = co_await fetch(at, get("/small.txt", "Range: bytes=0-4\r\nIf-Range: " + full.header("ETag") + "\r\n"));
    BOOST_TEST(ranged.status == 206);
    BOOST_TEST(ranged.body == "Hello");
    auto stale = co_await fetch(at, get("/small.txt", "Range: bytes=0-4\r\nIf-Range: \"stale\"\r\n"));
    BOOST_TEST(stale.status == 200);
    BOOST_TEST(stale.body == site.small);
    // Two If-Range lines, the matching one first, are one invalid value (RFC 9110 §5.3:
    // their values joined; If-Range is no list): the whole file. So are two Range lines.
    auto two_if_range = co_await fetch(
        at, get("/small.txt", "Range: bytes=0-4\r\nIf-Range: " + full.header("ETag") + "\r\nIf-Range: \"stale\"\r\n"));
    BOOST_TEST(two_if_range.status == 200);
    BOOST_TEST(two_if_range.body == site.small);
    auto two_ranges = co_await fetch(at, get("/small.txt", "Range: bytes=0-4\r\nRange: bytes=6-7\r\n"));
    BOOST_TEST(two_ranges.status == 200);
    BOOST_TEST(two_ranges.body == site.small);
    // Also when the joined text would read as one valid list ("bytes=0-4, 6-7": helper-33),
    // and for two matching If-Range lines: more than one line is no single value.
    auto joins_valid = co_await fetch(at, get("/small.txt", "Range: bytes=0-4\r\nRange: 6-7\r\n"));
    BOOST_TEST(joins_valid.status == 200);
    BOOST_TEST(joins_valid.body == site.small);
    auto same_if_range = co_await fetch(
        at, get("/small.txt", "Range: bytes=0-4\r\nIf-Range: " + full.header("ETag") + "\r\nIf-Range: " +
                                  full.header("ETag") + "\r\n"));
    BOOST_TEST(same_if_range.status == 200);
    BOOST_TEST(same_if_range.body == site.small);

    // RFC 9110 §14.2: Range is defined for GET only; HEAD describes the whole file.
    auto head = co_await fetch(at, "HEAD /one.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=0-99\r\n\r\n", true);
    BOOST_TEST(head.status == 200);
    BOOST_TEST(head.header("Content-Length") == size);
    BOOST_TEST(head.header("Content-Range") == "<absent>");
    BOOST_TEST(head.body.empty());
  });
}

BOOST_DATA_TEST_CASE(conditional_requests, test::backends, backend) {
  Site site;
  Router r = router_for(site, false);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    auto full = co_await fetch(at, get("/small.txt"));
    const std::string etag = full.header("ETag"), lm = full.header("Last-Modified");
    auto by_etag = co_await fetch(at, get("/small.txt", "If-None-Match: " + etag + "\r\n"));
    BOOST_TEST(by_etag.status == 304);
    BOOST_TEST(by_etag.body.empty());
    BOOST_TEST(by_etag.header("ETag") == etag);
    auto by_date = co_await fetch(at, get("/small.txt", "If-Modified-Since: " + lm + "\r\n"));
    BOOST_TEST(by_date.status == 304);
    // Two date lines are a list of dates, no HTTP-date: the precondition is ignored
    // (RFC 9110 §13.1.3, §13.1.4), not decided by the first line.
    auto two_dates = co_await fetch(at, get("/small.txt", "If-Modified-Since: " + lm + "\r\nIf-Modified-Since: " + lm + "\r\n"));
    BOOST_TEST(two_dates.status == 200);
    BOOST_TEST(two_dates.body == site.small);
    auto two_old = co_await fetch(at, get("/small.txt", "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                                                          "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
    BOOST_TEST(two_old.status == 200);
    // Request headers and the status they must get.
    const std::vector<std::pair<std::string, int>> cases{
        {"If-None-Match: \"other\"\r\n", 200},
        {"If-Match: \"other\"\r\n", 412},
        {"If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", 412},
        // RFC 9110 §5.3: a list field on several lines is one list; any line may match.
        {"If-None-Match: \"x\"\r\nIf-None-Match: " + etag + "\r\n", 304},
        {"If-Match: \"x\"\r\nif-match: " + etag + "\r\n", 200},
        {"If-Match: \"x\"\r\nIf-Match: \"y\"\r\n", 412},
        // An empty If-Match lists no tag, so none matches (§13.1.1; nginx: 412 too).
        {"If-Match:\r\n", 412},
    };
    for (const auto& [extra, status] : cases) {
      auto res = co_await fetch(at, get("/small.txt", extra));
      BOOST_TEST(res.status == status, extra);
    }
  });
}

BOOST_DATA_TEST_CASE(directories_index_redirect_and_listing, test::backends, backend) {
  Site site;
  fs::create_directory_symlink("../dir", site.root / "noindex" / "to-dir");
  fs::create_symlink("../small.txt", site.root / "noindex" / "to-file");
  fs::create_directory(site.root / "noindex" / "sp ace");
  Router with_listing = router_for(site, true);
  with_server(backend, with_listing, test_options(), [&](SocketAddress at) -> Task<void> {
    auto index = co_await fetch(at, get("/dir/"));
    BOOST_TEST(index.status == 200);
    BOOST_TEST(index.body == "<p>index</p>");
    BOOST_TEST(index.header("Content-Type") == "text/html; charset=utf-8");
    auto redirect = co_await fetch(at, get("/dir?x=1"));
    BOOST_TEST(redirect.status == 301);
    BOOST_TEST(redirect.header("Location") == "/dir/?x=1");
    // A query byte no URI may hold raw goes on encoded (RFC 9110 §10.2.2: a URI-reference).
    auto odd_query = co_await fetch(at, get("/dir?q=<x>\"|%41"));
    BOOST_TEST(odd_query.status == 301);
    BOOST_TEST(odd_query.header("Location") == "/dir/?q=%3Cx%3E%22%7C%41");
    auto listing = co_await fetch(at, get("/noindex/"));
    BOOST_TEST(listing.status == 200);
    BOOST_TEST(listing.body.find("a &lt;b&gt;&amp;.txt") != std::string::npos, listing.body);
    BOOST_TEST(listing.body.find("<b>") == std::string::npos);
    BOOST_TEST(listing.body.find("href=\"a%20%3Cb%3E%26.txt\"") != std::string::npos, listing.body);
    // Hidden names are not listed (nginx's autoindex: the same).
    BOOST_TEST(listing.body.find(".hidden") == std::string::npos, listing.body);
    BOOST_TEST(listing.body.find(".git") == std::string::npos, listing.body);
    // A link to a directory is listed as a directory; the title is the path as text.
    BOOST_TEST(listing.body.find("<a href=\"to-dir/\">to-dir/</a>") != std::string::npos, listing.body);
    BOOST_TEST(listing.body.find("<a href=\"to-file\">to-file</a>") != std::string::npos, listing.body);
    auto spaced = co_await fetch(at, get("/noindex/sp%20ace/"));
    BOOST_TEST(spaced.status == 200);
    BOOST_TEST(spaced.body.find("<title>Index of /noindex/sp ace/</title>") != std::string::npos, spaced.body);
    // An index.html that is no file (a directory, a FIFO) is no index: the listing, not a
    // server error.
    for (const char* path : {"/odd/", "/odd2/"}) {
      auto odd = co_await fetch(at, get(path));
      BOOST_TEST(odd.status == 200, path << " -> " << odd.status);
      BOOST_TEST(odd.body.find("<a href=\"index.html") != std::string::npos, odd.body);
    }
  });
  Router without = router_for(site, false);
  with_server(backend, without, test_options(), [&](SocketAddress at) -> Task<void> {
    auto refused = co_await fetch(at, get("/noindex/"));
    BOOST_TEST(refused.status == 403);
    auto fifo = co_await fetch(at, get("/fifo"));
    BOOST_TEST(fifo.status == 403);
    for (const char* path : {"/odd/", "/odd2/"}) {
      auto odd = co_await fetch(at, get(path));
      BOOST_TEST(odd.status == 403, path << " -> " << odd.status);
      BOOST_TEST(odd.body.find("directory listing is disabled") != std::string::npos, odd.body);
    }
    auto unix_socket = co_await fetch(at, get("/sock"));
    BOOST_TEST(unix_socket.status == 403);
    BOOST_TEST(unix_socket.body.find("not a regular file") != std::string::npos, unix_socket.body);
    auto missing = co_await fetch(at, get("/nope.txt"));
    BOOST_TEST(missing.status == 404);
    // A file named as a directory is not there (nginx: 404), however the slash is spelled.
    for (const char* path : {"/small.txt/", "/small.txt/.", "/small.txt//", "/dir/index.html/"}) {
      auto as_dir = co_await fetch(at, get(path));
      BOOST_TEST(as_dir.status == 404, path << " -> " << as_dir.status);
    }
    // A name longer than NAME_MAX, or a path longer than PATH_MAX, names no file: 404, not
    // a server error.
    auto long_name = co_await fetch(at, get("/" + std::string(256, 'a')));
    BOOST_TEST(long_name.status == 404);
    std::string long_path;
    while (long_path.size() < 5000) long_path += "/abcdefgh";
    auto long_one = co_await fetch(at, get(long_path));
    BOOST_TEST(long_one.status == 404);
  });
}

// Requests for one file that arrive together, which on io_uring may share its open
// (shared_open.hpp; shared_open_tests makes them share for certain): each gets the whole
// file, the index or a full listing.
BOOST_DATA_TEST_CASE(requests_that_arrive_together_each_get_the_whole_file, test::backends, backend) {
  Site site;
  Router with_listing = router_for(site, true);
  with_server(backend, with_listing, test_options(), [&](SocketAddress at) -> Task<void> {
    const std::pair<std::string, std::string> cases[] = {
        {"/small.txt", site.small}, {"/one.bin", site.mib}, {"/dir/", "<p>index</p>"}, {"/noindex/", ""}};
    for (const auto& [path, body] : cases) {
      std::vector<Client> clients;
      for (int i = 0; i < 8; ++i) clients.push_back(co_await Client::connect(at));
      for (Client& c : clients) co_await c.send(get(path));  // all sent before any is read
      for (Client& c : clients) {
        RawResponse r = co_await c.read_response(false, 20s);
        BOOST_TEST(r.status == 200, path);
        if (path == "/noindex/") {
          BOOST_TEST(r.body.find("a &lt;b&gt;&amp;.txt") != std::string::npos, r.body);
        } else {
          BOOST_TEST((r.body == body), path << ": " << r.body.size() << " bytes");
        }
      }
    }
  });
}

BOOST_DATA_TEST_CASE(a_directory_redirect_never_leaves_the_site, test::backends, backend) {
  Site site;
  fs::create_directories(site.root / "evil.example");
  fs::create_directories(site.root / "caf\xC3\xA9 dir");
  Router r = router_for(site, false);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    // "//evil.example/" in a Location is another host's address (RFC 3986 §4.2): the
    // redirect is built from the normalised path, never copied from the request.
    for (const char* path : {"//evil.example", "///evil.example", "/./evil.example", "/dir/..//evil.example"}) {
      auto res = co_await fetch(at, get(path));
      BOOST_TEST(res.status == 301, path);
      BOOST_TEST(res.header("Location") == "/evil.example/", path);
    }
    auto absolute = co_await fetch(at, get("http://t//evil.example"));
    BOOST_TEST(absolute.header("Location") == "/evil.example/");
    auto encoded = co_await fetch(at, get("/caf%C3%A9%20dir?a=b"));
    BOOST_TEST(encoded.status == 301);
    BOOST_TEST(encoded.header("Location") == "/caf%C3%A9%20dir/?a=b");
  });
}

// A deploy swaps what the root's name means: a symlink switched to a new release, then the
// directory itself renamed away and another renamed into its place. Within about a second
// every request gets the new tree (nginx looks the name up per request); before, the
// directory opened at start-up was served for ever, and 403 once it was deleted.
BOOST_DATA_TEST_CASE(a_root_swapped_on_disk_is_served_within_a_second, test::backends, backend) {
  TempDir dir;
  for (const char* release : {"r1", "r2", "r3"}) {
    fs::create_directory(dir.path / release);
    std::ofstream(dir.path / release / "f.txt") << release;
  }
  fs::create_directory_symlink("r1", dir.path / "current");
  Router r;
  r.get("/*", static_files((dir.path / "current").string()));
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    auto first = co_await fetch(at, get("/f.txt"));
    BOOST_TEST(first.body == "r1");
    // ln -sfn r2 current, atomically, as deploy tools do.
    fs::create_directory_symlink("r2", dir.path / "next");
    fs::rename(dir.path / "next", dir.path / "current");
    co_await sleep_for(1100ms);
    auto switched = co_await fetch(at, get("/f.txt"));
    BOOST_TEST(switched.body == "r2");
    // The directory itself: r2's files are now r3's (current -> r2 still).
    fs::rename(dir.path / "r2", dir.path / "r2.old");
    fs::rename(dir.path / "r3", dir.path / "r2");
    fs::remove_all(dir.path / "r2.old");
    co_await sleep_for(1100ms);
    auto renamed = co_await fetch(at, get("/f.txt"));
    BOOST_TEST(renamed.body == "r3");
  });
}

// A file stamped in the future (a clock that was off, a timestamp copied with it) is
// Last-Modified now, never later (RFC 9110 §8.8.2.1): a client revalidating with that date
// must get the file's next version, not 304 until the stamp's year comes.
BOOST_DATA_TEST_CASE(a_future_modification_time_is_last_modified_now, test::backends, backend) {
  Site site;
  const fs::path file = site.root / "skew.txt";
  Site::write(file, "old");
  const timespec future[2] = {{1906502400, 0}, {1906502400, 0}};  // 2030-06-01
  BOOST_REQUIRE(::utimensat(AT_FDCWD, file.c_str(), future, 0) == 0);
  Router r = router_for(site, false);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    auto first = co_await fetch(at, get("/skew.txt"));
    BOOST_TEST(first.status == 200);
    const std::string lm = first.header("Last-Modified");
    const auto stated = parse_http_date(lm);
    BOOST_REQUIRE(stated.has_value());
    BOOST_TEST(*stated <= std::time(nullptr), lm);
    BOOST_TEST(*stated >= std::time(nullptr) - 5, lm);
    Site::write(file, "new");  // mtime now: not after the date the client holds
    const timespec later[2] = {{*stated + 1, 0}, {*stated + 1, 0}};
    BOOST_REQUIRE(::utimensat(AT_FDCWD, file.c_str(), later, 0) == 0);
    co_await sleep_for(1100ms);  // now past the new stamp too
    auto again = co_await fetch(at, get("/skew.txt", "If-Modified-Since: " + lm + "\r\n"));
    BOOST_TEST(again.status == 200);
    BOOST_TEST(again.body == "new");
  });
}

BOOST_DATA_TEST_CASE(traversal_attempts_are_refused, test::backends, backend) {
  Site site;
  Router r = router_for(site, true);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    // Each refused three times: a client repeating them cannot flood the server's log (a
    // link leaving the site is told at warn level once per process, refused paths not).
    StderrCapture log;
    for (int round = 0; round < 3; ++round)
      for (const char* path : {"/../secret.txt", "/dir/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2e/secret.txt",
                               "/.%2e/secret.txt", "/dir%2f..%2f..%2fsecret.txt", "/small.txt%00.html",
                               "/..%5csecret.txt", "/abs-link", "/rel-link", "/dir/%2e%2e/%2e%2e/secret.txt"}) {
        auto res = co_await fetch(at, get(path));
        // 400: a ".." above the root, however spelt (nginx's answer); 403 for a separator
        // or control byte spelt as an escape, 404 for a link that leaves the site.
        BOOST_TEST((res.status == 400 || res.status == 403 || res.status == 404), path << " -> " << res.status);
        BOOST_TEST(res.body.find("top secret") == std::string::npos, path);
      }
    const std::string logged = log.text();
    std::size_t warnings = 0;
    for (std::size_t at = 0; (at = logged.find("hellepoll warn", at)) != std::string::npos; ++at) ++warnings;
    BOOST_TEST(warnings <= 1u, logged);
    // ".." that stays inside the root is resolved (RFC 3986 §5.2.4), as nginx does.
    for (const char* path : {"/dir/../small.txt", "/dir/sub/../../small.txt", "/dir/%2e%2e/small.txt"}) {
      auto inside = co_await fetch(at, get(path));
      BOOST_TEST(inside.status == 200, path << " -> " << inside.status);
      BOOST_TEST(inside.body == site.small, path);
    }
    // Double encoding decodes once: a harmless literal file name.
    auto literal = co_await fetch(at, get("/%252e%252e"));
    BOOST_TEST(literal.status == 200);
    BOOST_TEST(literal.body == "literal name");
  });
}

BOOST_DATA_TEST_CASE(a_file_truncated_while_sent_ends_that_response_only, test::backends, backend) {
  Site site;
  const fs::path victim = site.root / "shrinking.bin";
  Site::write(victim, bytes(64u << 20, 9));
  Router r = router_for(site, false);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    Client c = co_await Client::connect(at);
    co_await c.send(get("/shrinking.bin"));
    char buf[65536];
    auto n = co_await c.stream().recv(buf, sizeof buf, Deadline::after(5s));  // the transfer has begun
    BOOST_REQUIRE((n && *n > 0));
    BOOST_REQUIRE(::truncate(victim.c_str(), 1000) == 0);
    std::size_t total = *n;
    for (;;) {  // the server must end the connection, short of the announced length
      auto m = co_await c.stream().recv(buf, sizeof buf, Deadline::after(10s));
      if (!m || *m == 0) break;
      total += *m;
    }
    BOOST_TEST(total < (64u << 20));
    auto after = co_await fetch(at, get("/small.txt"));  // and keeps serving
    BOOST_TEST(after.status == 200);
  });
}

BOOST_DATA_TEST_CASE(files_over_4_gib_use_64_bit_offsets, test::backends, backend) {
  Site site;
  const fs::path sparse = site.root / "huge.bin";
  {
    int fd = ::open(sparse.c_str(), O_WRONLY | O_CREAT, 0644);
    BOOST_REQUIRE(fd >= 0);
    const off_t size = (5ll << 30) + 10;  // 5 GiB + 10, sparse
    BOOST_REQUIRE(::pwrite(fd, "TAILBYTES!", 10, size - 10) == 10);
    ::close(fd);
  }
  Router r = router_for(site, false);
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    auto head = co_await fetch(at, "HEAD /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n", true);
    BOOST_TEST(head.header("Content-Length") == std::to_string((5ll << 30) + 10));
    auto tail = co_await fetch(at, get("/huge.bin", "Range: bytes=-10\r\n"));
    BOOST_TEST(tail.status == 206);
    BOOST_TEST(tail.body == "TAILBYTES!");
    BOOST_TEST(tail.header("Content-Range") == "bytes 5368709120-5368709129/5368709130");
  });
}

// A file whose pages are not in memory is read through the backend's asynchronous file
// path (sendfile would stall the thread on the disk), then sent from the page cache.
BOOST_DATA_TEST_CASE(a_file_not_in_the_page_cache_is_read_then_sent, test::backends, backend) {
  // In the build tree: /tmp may be tmpfs, whose pages cannot be dropped.
  const fs::path root = test::make_temp_dir(HELLEPOLL_BINARY_DIR "/hellepoll-cold-XXXXXX");
  const std::string data = bytes(8u << 20, 11);
  Site::write(root / "cold.bin", data);
  {
    const int fd = ::open((root / "cold.bin").c_str(), O_RDONLY);
    BOOST_REQUIRE(fd >= 0);
    const bool dropped = test::drop_from_page_cache(fd);
    ::close(fd);
    BOOST_TEST_REQUIRE(dropped, "the build tree's filesystem kept the pages after POSIX_FADV_DONTNEED");
  }
  Router r;
  r.get("/*", static_files(root.string()));
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    auto cold = co_await fetch(at, get("/cold.bin"));
    BOOST_TEST(cold.status == 200);
    BOOST_TEST((cold.body == data), "cold: " << cold.body.size() << " bytes, differing from the file");
    auto warm = co_await fetch(at, get("/cold.bin", "Range: bytes=1000-\r\n"));
    BOOST_TEST(warm.status == 206);
    BOOST_TEST((warm.body == data.substr(1000)));
  });
  std::error_code ec;
  fs::remove_all(root, ec);
}

// tmpfs cannot say what it has cached (RWF_NOWAIT is refused), so its files are read and
// sent rather than sendfile'd: every byte must still arrive.
BOOST_DATA_TEST_CASE(a_file_on_tmpfs_arrives_whole, test::backends, backend) {
  char tmpl[] = "/dev/shm/hellepoll-tmpfs-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(tmpl) != nullptr);
  const fs::path root = tmpl;
  const std::string data = bytes(3u << 20, 12);
  Site::write(root / "shm.bin", data);
  Router r;
  r.get("/*", static_files(root.string()));
  with_server(backend, r, test_options(), [&](SocketAddress at) -> Task<void> {
    auto whole = co_await fetch(at, get("/shm.bin"));
    BOOST_TEST(whole.status == 200);
    BOOST_TEST((whole.body == data), "got " << whole.body.size() << " bytes, differing from the file");
    auto tail = co_await fetch(at, get("/shm.bin", "Range: bytes=-100000\r\n"));
    BOOST_TEST(tail.status == 206);
    BOOST_TEST((tail.body == data.substr(data.size() - 100000)));
  });
  std::error_code ec;
  fs::remove_all(root, ec);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_static_files_tests
