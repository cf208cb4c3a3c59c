// http::Server with two threads, in process, on each backend: two schedulers, each with
// its own SO_REUSEPORT listener, sharing one Router. Client threads on blocking sockets
// send keep-alive and pipelined requests (a route with a {param}, an echoed POST body, a
// static file) over many connections, which the kernel spreads over both server threads;
// every reply is checked. Then, with slow requests in flight and a kept-alive connection
// idle, stop() comes from yet another thread: the slow replies complete and say
// "Connection: close", the idle connection is closed, run() returns 0.
// The ThreadSanitizer stage of scripts/test runs this case (tests/CMakeLists.txt, tsan_tests).
#include <boost/test/unit_test.hpp>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hellepoll/http/server.hpp"
#include "hellepoll/http/static_files.hpp"
#include "hellepoll/sleep.hpp"
#include "http/support_client.hpp"
#include "support/backends.hpp"
#include "support/process.hpp"

using namespace hellepoll;
using namespace hellepoll::http;
using namespace hellepoll::test;
using namespace std::chrono_literals;

namespace mt_server_test {

constexpr unsigned kServerThreads = 2;
constexpr int kClientThreads = 4;
constexpr int kConnectionsPerClient = 20;
constexpr int kRequestsPerConnection = 6;
constexpr int kSlowRequests = 4;

const std::string kSite = HELLEPOLL_SOURCE_DIR "/site";

// The server threads that ran a handler (handlers run on their connection's thread).
class ThreadsSeen {
 public:
  void note() {
    std::lock_guard lock(m_);
    ids_.insert(std::this_thread::get_id());
  }
  std::size_t count() {
    std::lock_guard lock(m_);
    return ids_.size();
  }

 private:
  std::mutex m_;
  std::set<std::thread::id> ids_;
};

Router make_router(ThreadsSeen& seen, std::atomic<int>& slow_started) {
  Router r;
  r.get("/n/{n}", [&seen](Request& req) -> Task<Response> {
    seen.note();
    co_return Response::text("n=" + std::string(req.param("n")));
  });
  r.post("/echo", [&seen](Request& req) -> Task<Response> {
    seen.note();
    co_return Response::text(std::string(req.body()));
  });
  r.get("/slow", [&slow_started](Request&) -> Task<Response> {
    slow_started.fetch_add(1);
    co_await sleep_for(300ms);
    co_return Response::text("slow");
  });
  r.get("/*", static_files(kSite));
  return r;
}

struct Exchange {
  std::string request;
  std::string expected_body;
};

// Request i of connection c of client thread `id`: GET /n/{n}, POST /echo or a static file.
Exchange exchange(int id, int c, int i, const std::string& hello) {
  const int n = id * 10000 + c * 100 + i;
  switch (i % 3) {
    case 0: return {"GET /n/" + std::to_string(n) + " HTTP/1.1\r\nHost: x\r\n\r\n", "n=" + std::to_string(n)};
    case 1: {
      std::string body(100 + static_cast<std::size_t>(n % 5000), static_cast<char>('a' + n % 26));
      return {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
              body};
    }
    default: return {"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", hello};
  }
}

// One client thread: its connections one after another, the requests of even ones one at a
// time, of odd ones pipelined in one write. Returns what went wrong, or "" (Boost.Test's
// checks are not thread-safe: the test's thread reports).
std::string run_client(std::uint16_t port, int id, const std::string& hello) {
  try {
    for (int c = 0; c < kConnectionsPerClient; ++c) {
      SyncClient conn(port);
      std::vector<Exchange> ex;
      for (int i = 0; i < kRequestsPerConnection; ++i) ex.push_back(exchange(id, c, i, hello));
      if (c % 2 == 1) {
        std::string all;
        for (const auto& e : ex) all += e.request;
        if (!conn.send(all)) return "send failed";
      }
      for (const auto& e : ex) {
        if (c % 2 == 0 && !conn.send(e.request)) return "send failed";
        RawResponse r = conn.read_response();
        if (r.status != 200 || r.body != e.expected_body || r.says_close())
          return "unexpected reply to " + e.request.substr(0, e.request.find('\r')) + ": " + r.status_line + " (" +
                 std::to_string(r.body.size()) + " body bytes)";
      }
    }
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

}  // namespace mt_server_test

using namespace mt_server_test;

BOOST_AUTO_TEST_SUITE(multi_thread_server)

BOOST_DATA_TEST_CASE(two_threads_serve_client_threads_then_stop_from_another_thread, backends, backend) {
  ServerOptions opts = test_options();
  opts.address = SocketAddress::loopback_v4(0);
  opts.backend = backend;
  opts.threads = kServerThreads;
  ThreadsSeen seen;
  std::atomic<int> slow_started{0};
  Server server(make_router(seen, slow_started), opts);

  std::mutex m;
  std::condition_variable cv;
  std::uint16_t port = 0;
  unsigned threads_reported = 0;
  std::string backend_name;
  server.on_listening = [&](const SocketAddress& a, std::string_view b, unsigned n) {
    std::lock_guard lock(m);
    port = a.port();
    threads_reported = n;
    backend_name = b;
    cv.notify_all();
  };
  std::atomic<int> rc{-1};
  std::thread runner([&] {
    try {
      rc = server.run();
    } catch (...) {
      rc = -2;
    }
  });
  // A failed BOOST_REQUIRE below must not leave the server running (nor `runner` joinable).
  struct StopAndJoin {
    Server& server;
    std::thread& runner;
    ~StopAndJoin() {
      if (!runner.joinable()) return;
      server.stop();
      runner.join();
    }
  } stop_and_join{server, runner};
  {
    std::unique_lock lock(m);
    BOOST_REQUIRE(cv.wait_for(lock, 10s, [&] { return port != 0; }));
  }
  BOOST_TEST(threads_reported == kServerThreads);
  BOOST_TEST(backend_name.find(backend == BackendKind::uring ? "io_uring" : "epoll") != std::string::npos);

  // Load: every reply checked.
  const std::string hello = slurp(kSite + "/hello.txt");
  BOOST_REQUIRE(!hello.empty());
  std::vector<std::string> failures(kClientThreads);
  {
    std::vector<std::thread> clients;
    for (int id = 0; id < kClientThreads; ++id)
      clients.emplace_back([&, id] { failures[static_cast<std::size_t>(id)] = run_client(port, id, hello); });
    for (auto& t : clients) t.join();
  }
  for (int id = 0; id < kClientThreads; ++id)
    BOOST_TEST(failures[static_cast<std::size_t>(id)].empty(),
               "client thread " << id << ": " << failures[static_cast<std::size_t>(id)]);
  // 80 connections all hashed to one of the two listeners: odds 2^-79.
  BOOST_TEST(seen.count() == kServerThreads);

  // Stop: slow requests in flight, one kept-alive connection idle.
  SyncClient idle(port);
  BOOST_REQUIRE(idle.send("GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  BOOST_TEST(idle.read_response().body == "n=1");
  std::vector<std::unique_ptr<SyncClient>> slow;
  for (int i = 0; i < kSlowRequests; ++i) {
    slow.push_back(std::make_unique<SyncClient>(port));
    BOOST_REQUIRE(slow.back()->send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  for (int i = 0; i < 1000 && slow_started.load() < kSlowRequests; ++i) std::this_thread::sleep_for(5ms);
  BOOST_REQUIRE(slow_started.load() == kSlowRequests);  // every slow handler is asleep now
  std::thread stopper([&] { server.stop(); });
  stopper.join();
  for (auto& c : slow) {
    RawResponse r = c->read_response();
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "slow");
    BOOST_TEST(r.says_close());
    BOOST_TEST(c->closed_by_peer());
  }
  BOOST_TEST(idle.closed_by_peer());
  runner.join();
  BOOST_TEST(rc.load() == 0);
  BOOST_TEST(connection_refused(port));
}

BOOST_AUTO_TEST_SUITE_END()
