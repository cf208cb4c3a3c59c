// Descriptor exhaustion, end to end on both backends: the server's RLIMIT_NOFILE is
// lowered (prlimit) until accept, or a file's open, fails with EMFILE. The server must say
// so once, back off without spinning (a file: answer 503 and close), keep serving the
// connections it has, close idle ones to make room, and accept (open) again once
// descriptors free up. A client accept cannot take waits in the listen backlog meanwhile.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <memory>
#include <string>

#include "http/support_client.hpp"
#include "support/backends.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace http_exhaustion_tests {

using namespace hellepoll;
using namespace hellepoll::test;
using namespace std::chrono_literals;

namespace {

const std::string kHello = HELLEPOLL_BINARY_DIR "/examples/hello";
const std::string kServe = HELLEPOLL_BINARY_DIR "/examples/hellepoll";
const std::string kRequest = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(exhaustion)

// Every descriptor held by connections in the middle of a request: nothing can be closed
// to make room, so accept backs off (no spinning) and the client waits in the backlog.
// Once a connection is answered it waits for its next request, and that is what the
// server closes to let the waiting client in (as nginx reuses idle connections when short
// of them): otherwise a client holding every descriptor with silent or kept-alive
// connections would shut everybody else out until idle timeouts.
BOOST_DATA_TEST_CASE(emfile_logs_once_backs_off_and_closes_an_idle_connection_for_a_waiting_client, backends,
                     backend) {
  const std::string log = "/tmp/hellepoll-emfile-" + std::to_string(::getpid()) + ".log";
  ServerProcess server(kHello, backend, {}, {.stderr_file = log, .nofile_limit = 32});
  const Descriptors before = descriptors(server.pid());
  BOOST_TEST_MESSAGE("server descriptors: " << before.open << " open, highest " << before.highest);
  BOOST_REQUIRE(before.highest < 32);
  const int room = 32 - before.open;

  // Each holds a descriptor with a request begun: busy, not idle.
  std::vector<std::unique_ptr<SyncClient>> busy;
  for (int i = 0; i < room; ++i) {
    busy.push_back(std::make_unique<SyncClient>(server.port()));
    BOOST_REQUIRE(busy.back()->send("GET / HTTP/1.1\r\n"));
  }
  std::this_thread::sleep_for(300ms);  // the server has read those bytes: none is idle
  // The next connection completes its handshake in the backlog, but accept fails.
  SyncClient waiting(server.port());
  BOOST_REQUIRE(waiting.send(kRequest));
  BOOST_TEST(!waiting.wait_for_data(500ms), "served beyond the descriptor limit?");

  // Backing off, not spinning: under 5% of a core over a second.
  const double cpu_before = cpu_seconds(server.pid());
  std::this_thread::sleep_for(1s);
  const double cpu_used = cpu_seconds(server.pid()) - cpu_before;
  BOOST_TEST(cpu_used < 0.05, "server used " << cpu_used << " s of CPU in 1 s while out of descriptors");

  // Connections it holds are still served; the one answered is then idle, and closed to
  // let the waiting client in.
  BOOST_REQUIRE(busy.front()->send("Host: x\r\n\r\n"));
  BOOST_TEST(busy.front()->read_response().status == 200);
  BOOST_TEST(waiting.read_response(false, 2s).status == 200);
  BOOST_TEST(busy.front()->closed_by_peer(), "the idle connection was not the one closed");
  // The busy ones were not touched: each finishes its request on its connection.
  for (std::size_t i = 1; i < busy.size(); ++i) {
    BOOST_REQUIRE(busy[i]->send("Host: x\r\n\r\n"));
    BOOST_TEST(busy[i]->read_response().status == 200);
  }

  BOOST_TEST(server.stop() == 0);
  const std::string err = slurp(log);
  BOOST_TEST(occurrences(err, "backing off") == 1u, err);
  BOOST_TEST(occurrences(err, "Too many open files") == 1u, err);
  ::unlink(log.c_str());
}

// A file server whose connections hold every descriptor but one: the connection that
// takes the last one cannot open a file for its request. That is 503 with Retry-After
// (the file is fine, a retry may be served; nginx answers 500), said in the log once, not
// once per request, and the connection closes (as nginx's 500 does): kept open, clients
// that retry on their own connection would hold every descriptor for good and never be
// served. An idle connection closes too, so that the retry finds a descriptor.
BOOST_DATA_TEST_CASE(a_file_that_cannot_be_opened_for_want_of_descriptors_is_503_and_a_close, backends, backend) {
  TempDir dir;
  std::ofstream(dir.path / "a.txt") << "a file";
  std::ofstream(dir.path / "index.html") << "the index";
  const std::string log = (dir.path / "stderr").string();
  ServerProcess server(kServe, backend, {"serve", dir.path.string()}, {.stderr_file = log, .nofile_limit = 32});
  const Descriptors before = descriptors(server.pid());
  BOOST_REQUIRE(before.highest < 32);
  const std::string get = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<std::unique_ptr<SyncClient>> held;  // served, then idle
  for (int i = 0; i < 32 - before.open - 1; ++i) {
    held.push_back(std::make_unique<SyncClient>(server.port()));
    BOOST_REQUIRE(held.back()->send(get));
    BOOST_REQUIRE_EQUAL(held.back()->read_response().status, 200);
  }
  // Idle connections the server has closed since the last call (each seen once).
  std::vector<bool> seen_closed(held.size());
  auto newly_closed = [&] {
    int n = 0;
    for (std::size_t i = 0; i < held.size(); ++i)
      if (!seen_closed[i] && held[i]->closed_by_peer(10ms)) seen_closed[i] = true, ++n;
    return n;
  };
  std::this_thread::sleep_for(200ms);  // idle long enough to be closed for room (100 ms)
  {
    SyncClient last(server.port());  // accepted into the last descriptor
    BOOST_REQUIRE(last.send(get));
    const RawResponse r = last.read_response();
    BOOST_TEST(r.status == 503);
    BOOST_TEST(r.header("Retry-After") == "1");
    BOOST_TEST(r.says_close());
    BOOST_TEST(r.body.find("out of file descriptors") != std::string::npos, r.body);
    BOOST_TEST(last.closed_by_peer(), "the connection stayed open, holding the descriptor a file needs");
  }
  std::this_thread::sleep_for(100ms);
  BOOST_TEST(newly_closed() == 1, "one idle connection (of " << held.size() << ") closes to make room");
  // Two free now (the 503's connection and the idle one): two connections take them, and
  // one more is closed by its client, so that for GET / the root directory opens and its
  // index.html then cannot. That is the same 503, not the listing's 403 (or, with
  // --listing, an empty listing), and it too closes an idle connection.
  {
    SyncClient next(server.port());
    SyncClient other(server.port());
    for (std::size_t i = 0; i < held.size(); ++i)
      if (!seen_closed[i]) {
        held[i]->reset();
        seen_closed[i] = true;
        break;
      }
    std::this_thread::sleep_for(100ms);  // the server sees the close and frees its descriptor
    BOOST_REQUIRE(next.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const RawResponse index = next.read_response();
    BOOST_TEST(index.status == 503, index.body);
    BOOST_TEST(index.says_close());
    BOOST_TEST(next.closed_by_peer());
    std::this_thread::sleep_for(100ms);
    BOOST_TEST(newly_closed() == 1);
    // A retry finds the two descriptors that freed: one for its connection, one for a file.
    SyncClient retry(server.port());
    BOOST_REQUIRE(retry.send(get));
    const RawResponse served = retry.read_response();
    BOOST_TEST(served.status == 200);
    BOOST_TEST(served.body == "a file");
  }
  BOOST_TEST(server.stop() == 0);
  BOOST_TEST(occurrences(slurp(log), "503 until descriptors free up") == 1u, slurp(log));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_exhaustion_tests
