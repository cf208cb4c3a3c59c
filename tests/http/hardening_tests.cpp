// Hostile clients against an in-process server, on both backends: a 1 MiB header block,
// an endless chunked upload to a route with a 1 MiB limit, chunks that are mostly
// extensions, a client that never reads,
// 10,000 connections abandoned mid-request, and a client resetting a 100 MiB download.
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/backends.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "hellepoll/http/static_files.hpp"
#include "hellepoll/when_all.hpp"
#include "support_client.hpp"

namespace http_hardening_tests {

using namespace hellepoll;
using namespace hellepoll::http;
using namespace hellepoll::test;
using namespace std::chrono_literals;

// A document root with /files/huge.bin (100 MiB, sparse: no disk is used) and
// /files/one.bin (1 MiB); removed when the test program exits.
inline const std::string& download_root() {
  struct Root {
    std::string path;
    Root() {
      path = test::make_temp_dir("/tmp/hellepoll-downloads-XXXXXX").string();
      std::filesystem::create_directory(path + "/files");
      { std::ofstream create(path + "/files/huge.bin"); }
      std::filesystem::resize_file(path + "/files/huge.bin", 100u << 20);
      std::ofstream(path + "/files/one.bin") << std::string(1u << 20, 'o');
    }
    ~Root() { std::filesystem::remove_all(path); }
  };
  static const Root root;
  return root.path;
}

inline Router router() {
  Router r;
  r.get("/files/*", static_files(download_root()));
  r.get("/", [](Request&) -> Task<Response> { co_return Response::text("ok"); });
  r.get("/big", [](Request&) -> Task<Response> { co_return Response::text(std::string(64u << 20, 'x')); });
  r.get("/sixteen", [](Request&) -> Task<Response> { co_return Response::text(std::string(16u << 20, 's')); });
  Route& upload = r.post("/upload", [](Request& req) -> Task<Response> {
    co_return Response::text(std::to_string(req.body().size()));
  });
  upload.max_body = 1 << 20;
  return r;
}

// Runs `client(address, thread)` beside a ServerThread on one scheduler.
template <typename F>
void with_thread(BackendKind backend, const ServerOptions& opts, F&& client) {
  Router r = router();
  ServerThread st(r, opts);  // before the scheduler: see ServerThread
  Scheduler s(backend);
  auto l = Listener::bind(SocketAddress::loopback_v4(0));
  BOOST_REQUIRE(l);
  std::exception_ptr error;
  s.block_on(serve_and_run(st, *l, client(l->local_address(), st), error));
  if (error) std::rethrow_exception(error);
}

// Sends `piece` again and again, up to `limit` bytes, until the server stops taking them
// or, once more than `answer_after` bytes are out, its reply is there: how many went.
inline Task<std::size_t> send_until_answered(Client& c, const std::string& piece, std::size_t limit,
                                             std::size_t answer_after = 0) {
  std::size_t sent = 0;
  while (sent < limit) {
    auto r = co_await c.stream().send_all(piece, Deadline::after(2s));
    if (!r) break;  // the server stopped reading (timeout) or reset the connection
    sent += piece.size();
    char peek[1];
    if (sent > answer_after && ::recv(c.stream().fd(), peek, 1, MSG_PEEK | MSG_DONTWAIT) > 0) break;
  }
  co_return sent;
}

inline Task<bool> drained(ServerThread& st, Duration within) {
  const auto until = Clock::now() + within;
  while (st.connections() > 0 && Clock::now() < until) co_await sleep_for(10ms);
  co_return st.connections() == 0;
}

BOOST_AUTO_TEST_SUITE(hardening)

BOOST_DATA_TEST_CASE(a_one_mib_header_block_gets_431_and_a_close, test::backends, backend) {
  with_thread(backend, test_options(), [](SocketAddress at, ServerThread&) -> Task<void> {
    for (bool one_giant : {true, false}) {
      std::string req = "GET / HTTP/1.1\r\nHost: x\r\n";
      if (one_giant) req += "X-Big: " + std::string(1 << 20, 'a') + "\r\n";
      else
        for (int i = 0; i < 20000; ++i) req += "X-" + std::to_string(i) + ": " + std::string(40, 'b') + "\r\n";
      req += "\r\n";
      Client c = co_await Client::connect(at);
      (void)co_await c.stream().send_all(req, Deadline::after(5s));  // may fail once the server gave up
      RawResponse r = co_await c.read_response();
      BOOST_TEST(r.status == 431);
      BOOST_TEST(r.says_close());
      BOOST_TEST(co_await c.closed_by_peer(5s));
    }
  });
}

BOOST_DATA_TEST_CASE(an_endless_chunked_upload_gets_413_without_being_read, test::backends, backend) {
  with_thread(backend, test_options(), [](SocketAddress at, ServerThread&) -> Task<void> {
    Client c = co_await Client::connect(at);
    co_await c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "10000\r\n" + std::string(0x10000, 'z') + "\r\n";  // 64 KiB chunks of "10 GB"
    // By 2 MiB the server must have answered; stop as soon as the reply is there.
    const std::size_t sent = co_await send_until_answered(c, chunk, 64u << 20, 2u << 20);
    BOOST_TEST(sent < (64u << 20), "the server read " << sent << " bytes of a refused upload");
    RawResponse r = co_await c.read_response();
    BOOST_TEST(r.status == 413);
    BOOST_TEST(r.says_close());
  });
}

BOOST_DATA_TEST_CASE(chunk_extensions_past_the_limit_get_400_without_being_read, test::backends, backend) {
  // One data byte and ~4 KB of extension per chunk: under max_body, and no line over the
  // extension limit, but 1 MiB of data framed this way would be 4 GB on the wire.
  with_thread(backend, test_options(), [](SocketAddress at, ServerThread&) -> Task<void> {
    Client c = co_await Client::connect(at);
    co_await c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "1;x=" + std::string(4000, 'e') + "\r\nz\r\n";
    const std::size_t sent = co_await send_until_answered(c, chunk, 16u << 20, 1u << 20);
    BOOST_TEST(sent < (16u << 20), "the server read " << sent << " bytes of chunk extensions");
    RawResponse r = co_await c.read_response();
    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.body.find("chunk extensions too long") != std::string::npos);
    BOOST_TEST(r.says_close());
  });
}

BOOST_DATA_TEST_CASE(a_chunk_size_of_endless_leading_zeros_gets_400_without_being_read, test::backends, backend) {
  // Leading zeros never overflow a chunk size, and neither max_body nor max_chunk_ext
  // counted them: the server read 200 MiB of '0' for a 5-byte body, and would read on.
  with_thread(backend, test_options(), [](SocketAddress at, ServerThread&) -> Task<void> {
    Client c = co_await Client::connect(at);
    co_await c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::size_t sent = co_await send_until_answered(c, std::string(64 * 1024, '0'), 16u << 20);
    BOOST_TEST(sent < (16u << 20), "the server read " << sent << " bytes of one chunk-size line");
    RawResponse r = co_await c.read_response();
    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.body.find("chunk size line too long") != std::string::npos);
    BOOST_TEST(r.says_close());
  });
}

BOOST_DATA_TEST_CASE(a_client_that_never_reads_is_dropped_by_the_write_timeout, test::backends, backend) {
  ServerOptions opts = test_options();
  opts.write_timeout = 300ms;
  with_thread(backend, opts, [](SocketAddress at, ServerThread& st) -> Task<void> {
    Client sleeper = co_await Client::connect(at);
    co_await sleeper.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");  // 64 MiB reply, never read
    co_await sleep_for(100ms);
    // Others are served meanwhile.
    Client other = co_await Client::connect(at);
    co_await other.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    RawResponse r = co_await other.read_response();
    BOOST_TEST(r.status == 200);
    co_await other.stream().close();
    // The write timeout ends the stuck connection: nothing is left on the server.
    BOOST_TEST(co_await drained(st, 5s));
    co_await sleeper.stream().close();
  });
}

// The write timeout is for a write that makes no progress, not for the whole reply: a
// client that reads steadily but slowly gets every byte of a reply that takes it many
// times the timeout to read (nginx's send_timeout means the same).
BOOST_DATA_TEST_CASE(a_slow_reader_gets_all_of_a_reply_longer_than_the_write_timeout, test::backends, backend) {
  ServerOptions opts = test_options();
  opts.write_timeout = 300ms;
  with_thread(backend, opts, [backend](SocketAddress at, ServerThread&) -> Task<void> {
    Client c = co_await Client::connect(at);
    const int small = 64 * 1024;  // keep the kernel from buffering the whole reply
    ::setsockopt(c.stream().fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    co_await c.send("GET /sixteen HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto started = Clock::now();
    std::size_t got = 0;
    std::vector<char> buf(64 * 1024);
    for (std::size_t since_pause = 0;;) {
      auto n = co_await c.stream().recv(buf.data(), buf.size(), Deadline::after(5s));
      if (!n || *n == 0) break;
      got += *n;
      since_pause += *n;
      if (since_pause >= 256 * 1024) {  // ~10 MB/s: a pause far below the timeout
        since_pause = 0;
        co_await sleep_for(20ms);
      }
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    BOOST_TEST_MESSAGE(to_string(backend) << ": " << got << " bytes in " << took.count() << " ms");
    BOOST_TEST(took > 600ms);  // the reply really took longer than twice the timeout
    BOOST_TEST(got > (16u << 20));  // head and the whole body
  });
}

// write_timeout zero is no limit (ServerOptions), for a file sent by sendfile too: a client
// that pauses before reading still gets the whole file. It was an immediate deadline there,
// which cut the reply at the first full socket buffer.
BOOST_DATA_TEST_CASE(write_timeout_zero_is_no_limit_for_files_too, test::backends, backend) {
  ServerOptions opts = test_options();
  opts.write_timeout = Duration::zero();
  with_thread(backend, opts, [](SocketAddress at, ServerThread&) -> Task<void> {
    Client c = co_await Client::connect(at);
    const int small = 64 * 1024;  // so that the socket fills long before the file ends
    ::setsockopt(c.stream().fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    co_await c.send("GET /files/one.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    co_await sleep_for(200ms);
    const std::string all = co_await c.read_until_close(5s);
    BOOST_TEST(all.find("HTTP/1.1 200 OK\r\n") == 0u);
    BOOST_TEST(all.size() > (1u << 20));
    BOOST_TEST(all.substr(all.size() - 16) == std::string(16, 'o'));
  });
}

BOOST_DATA_TEST_CASE(ten_thousand_abandoned_connections_are_reclaimed, test::backends, backend) {
  raise_fd_limit();
  const int fds_before = open_fd_count();
  ServerOptions opts = test_options();
  opts.header_timeout = 2s;
  with_thread(backend, opts, [](SocketAddress at, ServerThread& st) -> Task<void> {
    for (int batch = 0; batch < 10; ++batch) {
      std::vector<TcpStream> open;
      for (int i = 0; i < 1000; ++i) {
        auto c = co_await TcpStream::connect(at, Deadline::after(5s));
        BOOST_REQUIRE(c);
        (void)co_await c->send_all(std::string_view("GET / HTTP/1.1\r\nHost: x\r\nX-Half: "), Deadline::after(1s));
        open.push_back(std::move(*c));
      }
      for (auto& c : open) co_await c.close();  // abandoned mid-request
    }
    BOOST_TEST(co_await drained(st, 10s), st.connections() << " connection(s) left");
  });
  BOOST_TEST(open_fd_count() == fds_before);
}

// One client resets its 100 MiB file download part-way; another client's download,
// begun before the reset and read after it, arrives whole.
BOOST_DATA_TEST_CASE(a_client_reset_during_a_large_download_ends_that_transfer_only, test::backends, backend) {
  with_thread(backend, test_options(), [](SocketAddress at, ServerThread& st) -> Task<void> {
    Client c = co_await Client::connect(at);
    co_await c.send("GET /files/huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    Client other = co_await Client::connect(at);
    co_await other.send("GET /files/one.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    char buf[65536];
    auto n = co_await c.stream().recv(buf, sizeof buf, Deadline::after(5s));
    BOOST_REQUIRE((n && *n > 0));
    BOOST_TEST(std::string_view(buf, 12) == "HTTP/1.1 200");
    linger lg{1, 0};  // close with RST
    ::setsockopt(c.stream().fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    c.stream().socket().close_now();
    RawResponse whole = co_await other.read_response();
    BOOST_TEST(whole.status == 200);
    BOOST_TEST((whole.body == std::string(1u << 20, 'o')), "got " << whole.body.size() << " bytes");
    co_await other.stream().close();
    Client next = co_await Client::connect(at);
    co_await next.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    RawResponse r = co_await next.read_response();
    BOOST_TEST(r.status == 200);
    BOOST_TEST(co_await drained(st, 5s));
  });
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_hardening_tests
