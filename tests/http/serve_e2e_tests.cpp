// `hellepoll serve` as a real process on both backends: curl -r, curl -z and wget -c
// behave as against nginx; 50 concurrent downloads of a large file keep the server's
// memory bounded; the bundled default site is served.
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <fstream>
#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "hellepoll/when_all.hpp"
#include "support/backends.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support_client.hpp"

namespace http_serve_e2e_tests {

using namespace hellepoll;
using namespace hellepoll::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string binary = HELLEPOLL_BINARY_DIR "/examples/hellepoll";


inline std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u) >> 13);
  return s;
}

inline Task<std::size_t> download(SocketAddress at) {
  Client c = co_await Client::connect(at);
  co_await c.send("GET /large.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  co_return co_await c.count_until_close(60s);
}

// A port below 1024 that is free now (only root may bind those, unless the system lowered
// net.ipv4.ip_unprivileged_port_start); 0 if none is.
inline std::uint16_t free_privileged_port() {
  for (std::uint16_t port = 1023; port >= 600; --port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) return port;
  }
  return 0;
}

BOOST_AUTO_TEST_SUITE(serve_e2e)

BOOST_DATA_TEST_CASE(curl_and_wget_behave_as_against_nginx, test::backends, backend) {
  TempDir dir;
  const std::string data = pattern(3 << 20);
  std::ofstream(dir.path / "file.bin", std::ios::binary) << data;
  ServerProcess server(binary, backend, {"serve", dir.path.string()});
  const std::string url = server.url("/file.bin");

  auto ranged = run_command("curl -s -r 0-99 -o " + (dir.path / "part").string() + " -w '%{http_code}' " + url);
  BOOST_TEST(ranged.exit_code == 0);
  BOOST_TEST(ranged.output == "206");
  BOOST_TEST((slurp(dir.path / "part") == data.substr(0, 100)));

  // -z with a date after the file's mtime: 304, nothing written.
  auto cond = run_command("curl -s -z 'Fri, 01 Jan 2100 00:00:00 GMT' -w '%{http_code}' " + url);
  BOOST_TEST(cond.exit_code == 0);
  BOOST_TEST(cond.output == "304");
  auto older = run_command("curl -s -z 'Sat, 01 Jan 2000 00:00:00 GMT' -o /dev/null -w '%{http_code}' " + url);
  BOOST_TEST(older.output == "200");

  // wget -c resumes a partial download with a Range request.
  const fs::path local = dir.path / "resumed.bin";
  std::ofstream(local, std::ios::binary) << data.substr(0, 1234567);
  auto wget = run_command("cd " + dir.path.string() + " && wget -q -c -O resumed.bin " + url + " 2>&1; echo rc=$?");
  BOOST_TEST(wget.output.find("rc=0") != std::string::npos, wget.output);
  BOOST_TEST((slurp(local) == data));
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(fifty_concurrent_large_downloads_use_bounded_memory, test::backends, backend) {
  TempDir dir;
  {
    std::ofstream out(dir.path / "large.bin", std::ios::binary);
    const std::string block = pattern(1 << 20);
    for (int i = 0; i < 32; ++i) out << block;  // 32 MiB
  }
  ServerProcess server(binary, backend, {"serve", dir.path.string()});
  const long before = status_kib(server.pid(), "VmRSS");
  Scheduler s(backend);
  std::vector<Task<std::size_t>> clients;
  for (int i = 0; i < 50; ++i) clients.push_back(download(SocketAddress::loopback_v4(server.port())));
  const auto started = std::chrono::steady_clock::now();
  auto sizes = s.block_on(when_all(std::move(clients)));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  const long peak = status_kib(server.pid(), "VmHWM");
  std::size_t complete = 0;
  std::string short_ones;  // for the failure message: which downloads ended early, and when
  for (auto n : sizes) {
    if (n > (32u << 20)) ++complete;  // head + the whole body
    else short_ones += std::to_string(n) + " ";
  }
  BOOST_TEST(complete == 50u, "bytes received by the short downloads: " << short_ones << "after " << took.count() << " ms");
  BOOST_TEST_MESSAGE("serve RSS before: " << before << " KiB, peak during 50 x 32 MiB downloads: " << peak << " KiB ("
                                          << to_string(backend) << ")");
  BOOST_TEST(peak > 0);
  BOOST_TEST(peak < 64 * 1024, "peak RSS " << peak << " KiB");  // bound documented in docs/SECURITY.md
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(the_bundled_site_is_the_default, test::backends, backend) {
  ServerProcess server(binary, backend, {"serve"});
  BOOST_TEST(server.first_line().find("site") != std::string::npos, server.first_line());
  auto page = run_command("curl -s " + server.url("/"));
  BOOST_TEST(page.output.find("hellepoll is running") != std::string::npos);
  auto txt = run_command("curl -s -o /dev/null -w '%{http_code} %{content_type}' " + server.url("/hello.txt"));
  BOOST_TEST(txt.output == "200 text/plain; charset=utf-8");
  BOOST_TEST(server.stop() == 0);
}

// The access log has a line for every answered request, refused ones included (nginx
// logs its 400s too): a malformed head, a bad version, a body over the limit. What came of
// a refused request line is shown escaped, never raw.
BOOST_DATA_TEST_CASE(the_access_log_shows_refused_requests_too, test::backends, backend) {
  ServerProcess server(binary, backend, {"serve", "--access-log", "on"});
  const std::vector<std::pair<std::string, int>> requests{
      {"GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n", 200},
      {"GET /x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n", 400},
      {"GE\"T /q HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /v HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n", 413},
  };
  for (const auto& [request, status] : requests) {
    SyncClient c(server.port());
    BOOST_TEST(c.send(request));
    BOOST_TEST(c.read_response().status == status, request);
  }
  BOOST_TEST(server.stop() == 0);
  const std::string log = server.rest_of_stdout();
  for (const char* line : {"127.0.0.1 - - [", "\"GET /hello.txt HTTP/1.1\" 200 ", "\"GET /x HTTP/1.1\" 400 ",
                           "\"GE\\x22T /q HTTP/1.1\" 400 ", "\"GET /v HTTP/2.0\" 505 ",
                           "\"POST /hello.txt HTTP/1.1\" 413 "})
    BOOST_TEST(log.find(line) != std::string::npos, line << " in:\n" << log);
}

// A target may hold '"' and '\\' (they are VCHARs): logged as \x22 and \x5C, as nginx does,
// so the line still splits on its quotes. A download the client resets is logged too, with
// the bytes that went out before it.
BOOST_DATA_TEST_CASE(the_access_log_escapes_quotes_and_logs_aborted_downloads, test::backends, backend) {
  TempDir dir;
  std::ofstream(dir.path / "big.bin", std::ios::binary) << pattern(64 << 20);
  ServerProcess server(binary, backend, {"serve", dir.path.string(), "--access-log", "on"});
  {
    SyncClient c(server.port());
    BOOST_TEST(c.send("GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n"));
    BOOST_TEST(c.read_response().status == 404);
  }
  {
    SyncClient c(server.port());
    BOOST_TEST(c.send("GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"));
    BOOST_TEST(c.wait_for_data());
    c.reset();  // SO_LINGER 0: RST, mid-download
  }
  std::this_thread::sleep_for(200ms);  // the server notices the reset
  BOOST_TEST(server.stop() == 0);
  const std::string log = server.rest_of_stdout();
  BOOST_TEST(log.find("\"GET /a\\x22b HTTP/1.1\" 404 ") != std::string::npos, log);
  const auto at = log.find("\"GET /big.bin HTTP/1.1\" 200 ");
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, log);
  const long sent = std::stol(log.substr(at + 28));
  BOOST_TEST(sent > 0);
  BOOST_TEST(sent < (64L << 20), "the whole file logged as sent: " << sent);
}

// Lines are written once per turn of a thread's loop, not once per request, but never
// held: each is out before the thread waits again (an idle server has written all of
// them), whole and in order, also with two threads sharing the pipe.
BOOST_DATA_TEST_CASE(the_access_log_is_written_as_requests_are_answered, test::backends, backend) {
  ServerProcess server(binary, backend, {"serve", "--access-log", "on", "--threads", "2"});
  {
    SyncClient c(server.port());
    for (int i = 0; i < 3; ++i) {
      BOOST_REQUIRE(c.send("GET /hello.txt?one=" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n"));
      BOOST_REQUIRE_EQUAL(c.read_response().status, 200);
      std::string line = server.stdout_lines(1, 2s);
      if (line.find(" HTTP/1.1\" ") == std::string::npos) line = server.stdout_lines(1, 2s);  // a start-up line
      BOOST_TEST(line.find("\"GET /hello.txt?one=" + std::to_string(i) + " HTTP/1.1\" 200 ") != std::string::npos,
                 "request " << i << ": '" << line << "'");
    }
  }
  // 60 pipelined requests on each of 8 connections: well over PIPE_BUF of lines per
  // thread, well under the 64 KiB a pipe holds (it is read only after the replies).
  std::vector<std::unique_ptr<SyncClient>> clients;
  for (int k = 0; k < 8; ++k) {
    clients.push_back(std::make_unique<SyncClient>(server.port()));
    std::string burst;
    for (int i = 0; i < 60; ++i) burst += "GET /hello.txt?c=" + std::to_string(k) + "&n=" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
    BOOST_REQUIRE(clients.back()->send(burst));
  }
  for (auto& c : clients)
    for (int i = 0; i < 60; ++i) BOOST_REQUIRE_EQUAL(c->read_response().status, 200);
  const std::string log = server.stdout_lines(480, 5s);
  std::vector<int> next(8, 0);
  std::size_t lines = 0;
  for (std::size_t at = 0, end; (end = log.find('\n', at)) != std::string::npos; at = end + 1, ++lines) {
    const std::string line = log.substr(at, end - at);
    int k = -1, n = -1;
    const bool whole = line.rfind("127.0.0.1 - - [", 0) == 0 &&
                       std::sscanf(line.c_str(), "%*s - - [%*[^]]] \"GET /hello.txt?c=%d&n=%d HTTP/1.1\" 200 ", &k, &n) == 2;
    BOOST_REQUIRE_MESSAGE(whole && k >= 0 && k < 8, "not a whole line: '" << line << "'");
    BOOST_TEST(n == next[static_cast<std::size_t>(k)], "connection " << k << " out of order");
    next[static_cast<std::size_t>(k)] = n + 1;
  }
  BOOST_TEST(lines == 480u);
  BOOST_TEST(server.stop() == 0);
}

// stdout is a pipe nobody reads (`hellepoll serve | less`, a stalled log shipper): once it
// is full, access log lines are dropped (stderr says how many) rather than the server
// blocking in write(2) with every connection of its thread, and SIGTERM with them.
BOOST_DATA_TEST_CASE(a_full_stdout_pipe_drops_log_lines_but_never_stops_serving, test::backends, backend) {
  TempDir dir;
  const std::string err = (dir.path / "stderr").string();
  ServerProcess server(binary, backend, {"serve", "--access-log", "on"}, ProcessOptions{err});
  SyncClient c(server.port());
  for (int i = 0; i < 3000; ++i) {  // ~80 B a line: 64 KiB of pipe is full after ~800
    BOOST_REQUIRE(c.send("GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n"));
    BOOST_REQUIRE_EQUAL(c.read_response().status, 200);
  }
  BOOST_TEST(server.stop() == 0);
  BOOST_TEST(slurp(err).find("line(s) dropped so far") != std::string::npos, slurp(err));
}

// A line longer than PIPE_BUF (a long query string) that meets a nearly full pipe is taken
// in part. The rest of it goes out before any other line once there is room, so the
// reader sees only whole lines; lines that found no room are dropped whole and counted.
BOOST_DATA_TEST_CASE(a_slow_stdout_reader_sees_only_whole_lines, test::backends, backend) {
  TempDir dir;
  const std::string err = (dir.path / "stderr").string();
  ServerProcess server(binary, backend, {"serve", "--access-log", "on"}, ProcessOptions{err});
  SyncClient c(server.port());
  const std::string pad(5000, 'q');
  auto get = [&](int n) {
    BOOST_REQUIRE(c.send("GET /hello.txt?n=" + std::to_string(n) + "&pad=" + pad + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    BOOST_REQUIRE_EQUAL(c.read_response().status, 200);
  };
  // The reader catches up: reads until 200 ms pass with nothing new. (A fixed 500 ms of
  // reading left part of the pipe full when CI's load kept the reader off the CPU, and
  // later lines were dropped.)
  const auto catch_up = [&server] {
    std::string read;
    for (std::string more; !(more = server.stdout_lines(1000, 200ms)).empty();) read += more;
    return read;
  };
  int n = 0;
  for (; n < 40; ++n) get(n);  // ~200 KB of lines into a 64 KiB pipe nobody reads yet
  std::string log = catch_up();
  for (; n < 50; ++n) get(n);  // ~50 KB: the emptied pipe takes them all
  log += catch_up();
  BOOST_TEST(server.stop() == 0);
  log += server.rest_of_stdout();

  const std::string tail = "&pad=" + pad + " HTTP/1.1\" 200 ";
  std::vector<int> seen;
  std::size_t at = 0;
  for (std::size_t end; (end = log.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string line = log.substr(at, end - at);
    const std::size_t get_at = line.find("\"GET /hello.txt?n=");
    int k = -1;
    const bool whole = line.rfind("127.0.0.1 - - [", 0) == 0 && get_at != std::string::npos &&
                       std::sscanf(line.c_str() + get_at, "\"GET /hello.txt?n=%d", &k) == 1 &&
                       line.find(tail) == line.find('&') && line.find_first_not_of("0123456789", line.find(tail) + tail.size()) == std::string::npos;
    BOOST_REQUIRE_MESSAGE(whole, "not a whole line: '" << line.substr(0, 80) << "...' of " << line.size() << " B");
    seen.push_back(k);
  }
  BOOST_TEST(at == log.size(), "a cut line at the end: " << log.size() - at << " B");
  BOOST_TEST(std::is_sorted(seen.begin(), seen.end()));
  BOOST_TEST((std::adjacent_find(seen.begin(), seen.end()) == seen.end()));
  BOOST_REQUIRE(!seen.empty());
  BOOST_TEST(seen.back() == 49);          // once the reader keeps up, every line comes
  BOOST_TEST(seen.size() < 50u);          // the full pipe dropped some
  BOOST_TEST(slurp(err).find("line(s) dropped so far") != std::string::npos, slurp(err));
}

// File permissions, checked as an unprivileged user: an index.html that cannot be read is
// "permission denied", not "directory listing is disabled"; a root that cannot be read is
// said at start-up, not only by a 403 for every request.
BOOST_DATA_TEST_CASE(unreadable_index_and_root_are_named, test::backends, backend) {
  TempDir dir;
  fs::permissions(dir.path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
  const fs::path copy = dir.path / "hellepoll";  // nobody may not reach the build tree
  fs::copy_file(binary, copy);
  fs::create_directories(dir.path / "site" / "sub");
  std::ofstream(dir.path / "site" / "sub" / "index.html") << "secret";
  fs::permissions(dir.path / "site" / "sub" / "index.html", fs::perms::none);
  fs::create_directory(dir.path / "locked");
  fs::permissions(dir.path / "locked", fs::perms::owner_all);
  if (::geteuid() == 0) ::chown((dir.path / "locked").c_str(), 0, 0);
  const std::string err = (dir.path / "stderr").string();
  ProcessOptions as_nobody{err};
  as_nobody.unprivileged = true;
  {
    ServerProcess server(copy.string(), backend, {"serve", (dir.path / "site").string()}, as_nobody);
    SyncClient c(server.port());
    BOOST_REQUIRE(c.send("GET /sub/ HTTP/1.1\r\nHost: a\r\n\r\n"));
    const RawResponse r = c.read_response();
    BOOST_TEST(r.status == 403);
    BOOST_TEST(r.body.find("permission denied") != std::string::npos, r.body);
    BOOST_TEST(server.stop() == 0);
  }
  ServerProcess locked(copy.string(), backend, {"serve", (dir.path / "locked").string()}, as_nobody);
  BOOST_TEST(locked.stop() == 0);
  BOOST_TEST(slurp(err).find("cannot read document root") != std::string::npos, slurp(err));
}

// --user, as nginx's `user` directive: started as root, the server binds its port (one
// below 1024 here, which nobody could not bind) and then is nobody for good, so a file
// only root may read is 403, also when io_uring opens it (the ring is made after the
// switch: its kernel workers take the credentials of the thread that makes them). The
// access log, which reopens stdout through /proc/self/fd, still writes.
BOOST_DATA_TEST_CASE(user_flag_gives_up_root_once_the_port_is_bound, test::backends, backend) {
  TempDir dir;
  const fs::path site = dir.path / "site";
  fs::permissions(dir.path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
  fs::create_directories(site / "locked");
  std::ofstream(site / "open.txt") << "open to all";
  std::ofstream(site / "secret.txt") << "root only";
  fs::permissions(site / "secret.txt", fs::perms::none);
  std::ofstream(site / "locked" / "index.html") << "root only";
  fs::permissions(site / "locked", fs::perms::owner_all);
  const std::string err = (dir.path / "stderr").string();
  std::vector<std::string> args{"serve", site.string(), "--user", "nobody", "--access-log", "on"};

  if (::geteuid() != 0) {
    // Not root: there is nothing to give up. Told, and the server runs as it is.
    BOOST_TEST_MESSAGE("not root: only the refusal of --user is checked here; giving up root is not tested");
    ServerProcess server(binary, backend, args, ProcessOptions{err});
    SyncClient c(server.port());
    BOOST_REQUIRE(c.send("GET /open.txt HTTP/1.1\r\nHost: a\r\n\r\n"));
    BOOST_TEST(c.read_response().status == 200);
    BOOST_TEST(server.stop() == 0);
    BOOST_TEST(slurp(err).find("--user nobody: ignored, only a server started as root can switch users") !=
                   std::string::npos,
               slurp(err));
    return;
  }
  const passwd* nobody = ::getpwnam("nobody");
  BOOST_REQUIRE(nobody);
  const std::string uid = std::to_string(nobody->pw_uid), gid = std::to_string(nobody->pw_gid);
  const std::uint16_t low = free_privileged_port();
  BOOST_REQUIRE(low != 0);
  args.insert(args.end(), {"--port", std::to_string(low), "--threads", "2"});
  ServerProcess server(binary, backend, args, ProcessOptions{err});
  BOOST_TEST(server.port() == low);
  // Every thread: the server threads, the signal watcher, the main thread.
  const fs::path tasks = "/proc/" + std::to_string(server.pid()) + "/task";
  int threads = 0;
  for (const auto& task : fs::directory_iterator(tasks)) {
    const pid_t tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
    ++threads;
    BOOST_TEST(status_line(tid, "Uid") == "Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid);
    BOOST_TEST(status_line(tid, "Gid") == "Gid:\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid);
  }
  BOOST_TEST(threads >= 3);
  SyncClient c(server.port());
  for (const auto& [path, status] : std::vector<std::pair<std::string, int>>{
           {"/open.txt", 200}, {"/secret.txt", 403}, {"/locked/", 403}, {"/locked/index.html", 403}}) {
    BOOST_REQUIRE(c.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    const RawResponse r = c.read_response();
    BOOST_TEST(r.status == status, path);
    if (status == 200) BOOST_TEST(r.body == "open to all");
    else BOOST_TEST(r.body.find("permission denied") != std::string::npos, path << ": " << r.body);
  }
  BOOST_TEST(server.stop() == 0);
  const std::string log = server.rest_of_stdout();
  BOOST_TEST(log.find("\"GET /secret.txt HTTP/1.1\" 403") != std::string::npos, log);
  BOOST_TEST(slurp(err).find("warn") == std::string::npos, slurp(err));

  // The root is opened before the switch and files under it relative to it: a parent only
  // root may enter does not matter (no warning, 200); a root NAME may not read does.
  fs::create_directories(dir.path / "closed" / "www");
  fs::permissions(dir.path / "closed", fs::perms::owner_all);
  std::ofstream(dir.path / "closed" / "www" / "f.txt") << "behind a closed parent";
  fs::create_directories(site / "shut");
  fs::permissions(site / "shut", fs::perms::owner_all);
  const std::string err2 = (dir.path / "stderr2").string();
  for (const auto& [served, status] : std::vector<std::pair<fs::path, int>>{{dir.path / "closed" / "www", 200},
                                                                          {site / "shut", 403}}) {
    ServerProcess other(binary, backend, {"serve", served.string(), "--user", "nobody"}, ProcessOptions{err2});
    SyncClient oc(other.port());
    BOOST_REQUIRE(oc.send("GET /f.txt HTTP/1.1\r\nHost: a\r\n\r\n"));
    BOOST_TEST(oc.read_response().status == status, served);
    BOOST_TEST(other.stop() == 0);
    const bool warned = slurp(err2).find("user nobody cannot read document root") != std::string::npos;
    BOOST_TEST(warned == (status == 403), served << ": " << slurp(err2));
  }

  // A user that does not exist: exit 1 naming it, before serving anything.
  const auto r = run_command("timeout 10 " + binary + " serve " + site.string() +
                             " --port 0 --user no-such-user-hp 2>&1 >/dev/null");
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.output == "hellepoll: --user: no such user 'no-such-user-hp'\n");
}

// Where openat2 does not exist (kernels before 5.6, which the epoll backend is for) or a
// seccomp filter refuses it, files are still served beneath the root: the epoll backend
// walks the path name by name and follows no symbolic link (404, told once at start of
// use); io_uring's own open is not a system call a filter sees, so it serves as always.
BOOST_DATA_TEST_CASE(files_are_served_where_openat2_is_refused, test::backends, backend) {
  TempDir dir;
  const fs::path site = dir.path / "site";
  fs::create_directories(site / "sub");
  std::ofstream(site / "f.txt") << "top file";
  std::ofstream(site / "sub" / "g.txt") << "sub file";
  std::ofstream(site / "sub" / "index.html") << "sub index";
  std::ofstream(dir.path / "secret.txt") << "secret";
  fs::create_symlink("f.txt", site / "link-in");
  fs::create_symlink("../secret.txt", site / "link-out");
  const std::string err = (dir.path / "stderr").string();
  ProcessOptions refused{err};
  refused.without_openat2 = true;
  ServerProcess server(binary, backend, {"serve", site.string()}, refused);
  SyncClient c(server.port());
  const bool follows_links = backend == BackendKind::uring;
  for (const auto& [path, status, body] : std::vector<std::tuple<std::string, int, std::string>>{
           {"/f.txt", 200, "top file"},
           {"/sub/g.txt", 200, "sub file"},
           {"/sub/", 200, "sub index"},
           {"/sub/../f.txt", 200, "top file"},
           {"/link-out", 404, ""},
           {"/link-in", follows_links ? 200 : 404, follows_links ? "top file" : ""},
           {"/nope.txt", 404, ""}}) {
    BOOST_REQUIRE(c.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    const RawResponse r = c.read_response();
    BOOST_TEST(r.status == status, path);
    if (status == 200) BOOST_TEST(r.body == body, path);
  }
  BOOST_TEST(server.stop() == 0);
  const bool told = slurp(err).find("openat2 is not available") != std::string::npos;
  BOOST_TEST(told == !follows_links, slurp(err));
}

// Argument errors end before any server starts: exit 2, the problem on stderr, the usage.
// (Should one start after all, it listens on a free port and `timeout` ends it.)
BOOST_AUTO_TEST_CASE(bad_arguments_exit_2_naming_the_problem) {
  const std::string run = "timeout 10 " + binary;
  const std::vector<std::pair<std::string, std::string>> cases{
      {run + " serve '' --port 0", "hellepoll: empty directory name\n"},
      {run + " serve -p 19203", "hellepoll: unknown flag -p\n"},
      {run + " serve --port 1 -p 2", "hellepoll: unknown flag -p\n"},
      {run + " serve --threads 0 --port 0", "hellepoll: bad value for --threads: '0' (expected 1 to 1024)\n"},
      {"HELLEPOLL_BACKEND=bogus " + run + " serve --port 0", "hellepoll: HELLEPOLL_BACKEND: unknown backend 'bogus'"},
  };
  for (const auto& [command, message] : cases) {
    const auto r = run_command(command + " 2>&1 >/dev/null");
    BOOST_TEST(r.exit_code == 2, command);
    BOOST_TEST(r.output.starts_with(message), command << ":\n" << r.output);
    BOOST_TEST(r.output.find("usage: hellepoll serve") != std::string::npos, command << ":\n" << r.output);
  }
}

// After `--` an argument that looks like a flag is the directory.
BOOST_AUTO_TEST_CASE(double_dash_makes_the_next_argument_the_directory) {
  TempDir dir;
  const auto r = run_command("cd " + dir.path.string() + " && timeout 10 " + binary + " serve -- -x 2>&1 >/dev/null");
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.output == "hellepoll: -x is not a directory\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_serve_e2e_tests
