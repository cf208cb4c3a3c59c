// http::Server with two threads, in process, on each backend: two schedulers, each with
// its own SO_REUSEPORT listener, sharing one Router. Client threads on blocking sockets
// send keep-alive and pipelined requests (a route with a {param}, an echoed POST body, a
// static file) over many connections, which the kernel spreads over both server threads;
// every reply is checked. Then, with slow requests in flight and a kept-alive connection
// idle, stop() comes from yet another thread: the slow replies complete and say
// "Connection: close", the idle connection is closed, run() returns 0.
// A second case lets the grace period run out with requests still busy: connections with
// no request begun close at once, the busy ones are cut at its end, run() returns 0.
// Then: cut_now() ends a grace period at once (a second SIGINT), and a second server with
// two threads cannot take a share of a running one's port (SO_REUSEPORT would let it).
// The ThreadSanitizer stage of scripts/test runs these cases (tests/CMakeLists.txt, tsan_tests).
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

namespace http_multi_thread_server_tests {

using namespace hellepoll;
using namespace hellepoll::http;
using namespace hellepoll::test;
using namespace std::chrono_literals;

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

// Server::run() on a thread of its own, started by the constructor, which returns once
// every server thread listens. At the end (a failed BOOST_REQUIRE included) the server is
// stopped and its thread joined, so none is left running.
class RunningServer {
 public:
  RunningServer(Router router, const ServerOptions& opts) : server_(std::move(router), opts) {
    server_.on_listening = [this](const SocketAddress& a, std::string_view b, unsigned n) {
      std::lock_guard lock(m_);
      port_ = a.port();
      threads_ = n;
      backend_name_ = b;
      cv_.notify_all();
    };
    runner_ = std::thread([this] {
      int rc = -2;
      std::string error;
      try {
        rc = server_.run();
      } catch (const std::exception& e) {
        error = e.what();
      }
      std::lock_guard lock(m_);
      rc_ = rc;
      error_ = std::move(error);
      ended_ = true;
      cv_.notify_all();
    });
    std::unique_lock lock(m_);
    cv_.wait_for(lock, 10s, [&] { return port_ != 0 || ended_; });
  }
  ~RunningServer() {
    if (!runner_.joinable()) return;
    server_.stop();
    runner_.join();
  }
  RunningServer(const RunningServer&) = delete;

  std::uint16_t port() const { return port_; }  // 0: not listening within 10 s, or run() threw
  std::string error() {  // what run() threw, once it has ended
    std::lock_guard lock(m_);
    return error_;
  }
  unsigned threads() const { return threads_; }
  const std::string& backend_name() const { return backend_name_; }
  void stop_from_another_thread() { std::thread([this] { server_.stop(); }).join(); }
  void cut_now_from_another_thread() { std::thread([this] { server_.cut_now(); }).join(); }
  int join() {  // run()'s result; -2 if it threw
    runner_.join();
    return rc_;
  }

 private:
  Server server_;
  std::thread runner_;
  std::mutex m_;
  std::condition_variable cv_;
  std::uint16_t port_ = 0;
  unsigned threads_ = 0;
  std::string backend_name_;
  int rc_ = -1;
  std::string error_;
  bool ended_ = false;
};

// Options for kServerThreads threads on a free loopback port.
ServerOptions two_threads(BackendKind backend, Duration grace_period) {
  ServerOptions opts = test_options();
  opts.address = SocketAddress::loopback_v4(0);
  opts.backend = backend;
  opts.threads = kServerThreads;
  opts.grace_period = grace_period;
  return opts;
}

// GET / answers "ok"; GET /forever counts itself in `asleep` and sleeps for an hour.
Router busy_router(std::atomic<int>& asleep) {
  Router r;
  r.get("/", [](Request&) -> Task<Response> { co_return Response::text("ok"); });
  r.get("/forever", [&asleep](Request&) -> Task<Response> {
    asleep.fetch_add(1);
    co_await sleep_for(std::chrono::hours(1));
    co_return Response::text("never");
  });
  return r;
}

bool all_asleep(const std::atomic<int>& asleep, int n) {
  for (int i = 0; i < 1000 && asleep.load() < n; ++i) std::this_thread::sleep_for(5ms);
  return asleep.load() == n;
}

BOOST_AUTO_TEST_SUITE(multi_thread_server)

// A Server runs once: a second run() says so (it returned 0 at once, serving nothing). What
// on_listening throws comes out of run() after the threads stopped (it called
// std::terminate with the threads still joinable).
BOOST_DATA_TEST_CASE(a_server_runs_once_and_on_listening_may_throw, backends, backend) {
  ServerOptions opts = two_threads(backend, 1s);
  Router r;
  r.get("/", [](Request&) -> Task<Response> { co_return Response::text("ok"); });
  Server server(std::move(r), opts);
  server.on_listening = [](const SocketAddress&, std::string_view, unsigned) {
    throw std::runtime_error("cannot write the pid file");
  };
  BOOST_CHECK_EXCEPTION(server.run(), std::runtime_error,
                        [](const std::runtime_error& e) { return std::string(e.what()) == "cannot write the pid file"; });
  BOOST_CHECK_EXCEPTION(server.run(), std::logic_error, [](const std::logic_error& e) {
    return std::string(e.what()).find("runs once") != std::string::npos;
  });
}

BOOST_DATA_TEST_CASE(two_threads_serve_client_threads_then_stop_from_another_thread, backends, backend) {
  ServerOptions opts = test_options();
  opts.address = SocketAddress::loopback_v4(0);
  opts.backend = backend;
  opts.threads = kServerThreads;
  ThreadsSeen seen;
  std::atomic<int> slow_started{0};
  RunningServer server(make_router(seen, slow_started), opts);
  BOOST_REQUIRE(server.port() != 0);
  const std::uint16_t port = server.port();
  BOOST_TEST(server.threads() == kServerThreads);
  BOOST_TEST(server.backend_name().find(backend == BackendKind::uring ? "io_uring" : "epoll") != std::string::npos);

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
  const auto stop_asked = std::chrono::steady_clock::now();
  server.stop_from_another_thread();
  for (auto& c : slow) {
    RawResponse r = c->read_response();
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == "slow");
    BOOST_TEST(r.says_close());
    BOOST_TEST(c->closed_by_peer());
  }
  BOOST_TEST(idle.closed_by_peer());
  BOOST_TEST(server.join() == 0);
  // The slow clients keep their sockets open: the close after their replies lingers only a
  // moment while the server stops (2 s otherwise), so the stop is not held up by it.
  const auto stop_took = std::chrono::steady_clock::now() - stop_asked;
  BOOST_TEST(stop_took < 1500ms, std::chrono::duration_cast<std::chrono::milliseconds>(stop_took).count() << " ms");
  BOOST_TEST(connection_refused(port));
}

// The grace period runs out with handlers still busy (asleep for an hour) and a head still
// arriving. The connections with no request begun, fresh or kept alive, close at once;
// the busy ones when the grace period ends; run() returns 0. The cut connections were
// destroyed by the scheduler after the thread state they untrack from (a use-after-free:
// "grace period over" then SIGSEGV or a corrupt heap), and fresh ones held shutdown for the
// whole grace period.
BOOST_DATA_TEST_CASE(the_grace_period_cuts_busy_connections_and_run_returns_0, backends, backend) {
  std::atomic<int> asleep{0};
  RunningServer server(busy_router(asleep), two_threads(backend, 1500ms));
  BOOST_REQUIRE(server.port() != 0);
  const std::uint16_t port = server.port();

  std::vector<std::unique_ptr<SyncClient>> busy;
  for (int i = 0; i < 4; ++i) {
    busy.push_back(std::make_unique<SyncClient>(port));
    BOOST_REQUIRE(busy.back()->send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  SyncClient half_head(port);
  BOOST_REQUIRE(half_head.send("GET / HTTP/1.1\r\nHo"));
  SyncClient kept_alive(port);
  BOOST_REQUIRE(kept_alive.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  BOOST_TEST(kept_alive.read_response().body == "ok");
  SyncClient fresh(port);  // connected, nothing sent
  BOOST_REQUIRE(all_asleep(asleep, 4));
  std::this_thread::sleep_for(50ms);  // the half head and the fresh connection reach the server

  const auto t0 = std::chrono::steady_clock::now();
  const auto since = [&t0] { return std::chrono::steady_clock::now() - t0; };
  server.stop_from_another_thread();
  BOOST_TEST(fresh.closed_by_peer(1s));
  BOOST_TEST(kept_alive.closed_by_peer(1s));
  BOOST_TEST((since() < 1s), "no request begun, yet open until the grace period's end");
  BOOST_TEST(half_head.closed_by_peer(5s));
  for (auto& c : busy) BOOST_TEST(c->closed_by_peer(5s));
  BOOST_TEST((since() >= 1400ms), "busy connections cut before the grace period ended");
  BOOST_TEST(server.join() == 0);
  BOOST_TEST((since() < 5s));
  BOOST_TEST(connection_refused(port));
}

// The second SIGINT's path: with a handler asleep for an hour and a 30 s grace period,
// cut_now() after stop() makes run() return 0 at once.
BOOST_DATA_TEST_CASE(cut_now_ends_the_grace_period_at_once, backends, backend) {
  std::atomic<int> asleep{0};
  RunningServer server(busy_router(asleep), two_threads(backend, std::chrono::seconds(30)));
  BOOST_REQUIRE(server.port() != 0);
  SyncClient busy(server.port());
  BOOST_REQUIRE(busy.send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n"));
  BOOST_REQUIRE(all_asleep(asleep, 1));
  const auto t0 = std::chrono::steady_clock::now();
  server.stop_from_another_thread();
  std::this_thread::sleep_for(100ms);
  BOOST_TEST(!busy.closed_by_peer(50ms));  // still in its grace period
  server.cut_now_from_another_thread();
  BOOST_TEST(busy.closed_by_peer(2s));
  BOOST_TEST(server.join() == 0);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 3s));
}

// nginx refuses an address in use; SO_REUSEPORT alone would let a second server (any
// process of the same user) join the first one's group and take a share of its clients.
BOOST_DATA_TEST_CASE(a_second_server_cannot_share_a_running_ones_port, backends, backend) {
  ServerOptions opts = two_threads(backend, std::chrono::seconds(2));
  Router first_router;
  first_router.get("/", [](Request&) -> Task<Response> { co_return Response::text("first"); });
  RunningServer first(std::move(first_router), opts);
  BOOST_REQUIRE(first.port() != 0);

  opts.address = SocketAddress::loopback_v4(first.port());
  Router second_router;
  second_router.get("/", [](Request&) -> Task<Response> { co_return Response::text("second"); });
  RunningServer second(std::move(second_router), opts);
  BOOST_TEST_REQUIRE(second.port() == 0, "a second server listens on the first one's port");  // (then stopped at the end)
  BOOST_TEST(second.join() == -2);
  BOOST_TEST(second.error().find("Address already in use") != std::string::npos, second.error());
  for (int i = 0; i < 20; ++i) {  // every client still reaches the first
    SyncClient c(first.port());
    BOOST_REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    BOOST_TEST(c.read_response().body == "first");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace http_multi_thread_server_tests
