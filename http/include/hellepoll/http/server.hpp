// The HTTP/1.1 server: N threads, each with its own Scheduler and a SO_REUSEPORT
// listener; SIGINT/SIGTERM stop accepting, let in-flight requests finish within a grace
// period, then return 0.
//
//   Router router;
//   router.get("/", [](Request&) -> Task<Response> { co_return Response::text("Hello, World!"); });
//   ServerOptions options;
//   options.threads = 2;
//   return Server(std::move(router), options).run();
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hellepoll/backend.hpp"
#include "hellepoll/clock.hpp"
#include "hellepoll/clock.hpp"
#include "hellepoll/http/parse_error.hpp"
#include "hellepoll/http/router.hpp"
#include "hellepoll/net/address.hpp"
#include "hellepoll/net/listener.hpp"

namespace hellepoll::http {

// Server's constructor refuses, with std::invalid_argument naming the field and its rule,
// a setting no server can run with; each rule is written at its field (and at Limits').
struct ServerOptions {
  SocketAddress address = SocketAddress::loopback_v4(8080);
  unsigned threads = 1;  // at least 1
  BackendKind backend = BackendKind::auto_detect;
  BackendOptions backend_options{};
  Limits limits{};
  // Timeouts: Duration::max() is none, a negative one is refused, and so is zero where it
  // says "positive": there zero would cut whatever had not arrived in the same turn of
  // the loop (write_timeout's zero means none instead).
  //
  // A kept-alive connection with no request in progress is closed after this. Positive.
  Duration idle_timeout = std::chrono::seconds(60);
  // A connection idle this long gives back its buffers and waits for readability alone
  // (cheap idle connections); the next request then pays one extra readiness wait.
  // Zero: at once.
  Duration idle_release_after = std::chrono::seconds(1);
  // From the first byte of a request to the end of its head (slowloris): 408. Positive.
  Duration header_timeout = std::chrono::seconds(30);
  // Between two reads of a request body: 408. Positive.
  Duration body_timeout = std::chrono::seconds(30);
  // For any one write of a response to make progress. Zero: no limit.
  Duration write_timeout = std::chrono::seconds(30);
  // After SIGTERM, how long in-flight requests get before their connections are cut.
  // Zero: cut at once.
  Duration grace_period = std::chrono::seconds(10);
  bool access_log = true;  // Common Log Format on stdout
  // Started as root: once the port is bound, serve as this user (its uid, group and
  // supplementary groups), as nginx's `user` directive does, so that files are served
  // only when that user may read them. Empty: stay who the process is.
  std::string user;
  // Request bodies are held in memory whole until their handler returns. This bounds the
  // memory bodies hold on one server thread at once, claimed as a body's buffer grows
  // with what arrives (not as declared: slow clients that declare large bodies cannot
  // hold it with a few bytes each): a request whose body would pass it gets 503 with
  // Retry-After, so a crowd of uploaders cannot run the process out of memory. It may be
  // smaller than limits.max_body (a route's max_body): a body larger than the whole
  // budget, which no wait could make room for, then gets 413, and one that fits is served.
  std::uint64_t max_body_memory_per_thread = std::uint64_t{256} << 20;
};

// Per-thread server state shared by the accept loop and its connections. Construct it
// before the Scheduler that runs them: connections still suspended when that scheduler
// is destroyed (cut by the grace period) untrack themselves from it as they go.
class ServerThread {
 public:
  ServerThread(const Router& router, const ServerOptions& options)
      : router_(router), options_(options), parser_limits_(options.limits) {
    // A route may allow a larger body than the server: the parser, which reads a head
    // before its route is known, holds Content-Length to the largest of them; the
    // connection then holds it to its route's own.
    parser_limits_.max_body = std::max(options.limits.max_body, router.largest_max_body());
  }
  ServerThread(const ServerThread&) = delete;

  const Router& router() const noexcept { return router_; }
  const ServerOptions& options() const noexcept { return options_; }
  const Limits& parser_limits() const noexcept { return parser_limits_; }
  bool draining() const noexcept { return draining_; }
  std::size_t connections() const noexcept { return connections_.size(); }

  // Accepts and serves until drain() (then waits for connections up to the grace period).
  Task<void> serve(Listener& listener);
  // Stop accepting; idle connections (no request begun) close now, busy ones after their
  // current response.
  void drain();
  // After drain(): end the grace period now (a second SIGINT).
  void cut() {
    drain();
    cut_ = true;
  }

  // Used by connections.
  struct Tracked {
    int fd = -1;
    bool idle = false;       // waiting for a request with no byte of it read (kept alive, or fresh)
    TimePoint idle_since{};  // when it last became idle (the start of that scheduler turn)
    std::size_t index = 0;   // in connections_: closing one is O(1) with 50,000 open
  };
  void track(Tracked* c) {
    c->index = connections_.size();
    connections_.push_back(c);
    peak_connections_ = std::max(peak_connections_, connections_.size());
  }
  void untrack(Tracked* c) noexcept;
  // Out of descriptors: ends the reading of 1/32 of the connections (at least one) that
  // have been idle for 100 ms or more (one just accepted or answered is likely about to
  // send), which then close (as drain() does), so that waiting clients get in.
  void reclaim_idle() noexcept;
  // Claims `n` bytes of max_body_memory_per_thread for a request body; false if they are
  // not free. Each claim is given back with release_body_memory.
  bool claim_body_memory(std::uint64_t n) noexcept {
    if (!body_memory_free(n)) return false;
    body_memory_ += n;
    return true;
  }
  // Whether `n` bytes of it are free now (claimed by nobody).
  bool body_memory_free(std::uint64_t n) const noexcept { return n <= options_.max_body_memory_per_thread - body_memory_; }
  void release_body_memory(std::uint64_t n) noexcept { body_memory_ -= n; }
  // Bytes of max_body_memory_per_thread claimed now.
  std::uint64_t body_memory() const noexcept { return body_memory_; }

 private:
  const Router& router_;
  const ServerOptions& options_;
  Limits parser_limits_;
  Listener* listener_ = nullptr;
  bool draining_ = false;
  bool cut_ = false;  // the grace period ends at once
  std::uint64_t body_memory_ = 0;  // claimed by request bodies being read or handled
  std::size_t peak_connections_ = 0;  // since memory was last handed back (see untrack)
  std::vector<Tracked*> connections_;
};

// Serves one connection until it closes. Exposed for tests and custom accept loops.
Task<void> serve_connection(TcpStream stream, ServerThread& thread);

class Server {
 public:
  Server(Router router, ServerOptions options);
  ~Server();

  // Binds, serves until stop() or SIGINT/SIGTERM, drains, returns the exit code (0).
  // SIGPIPE is ignored process-wide from then on (a client gone mid-reply must never kill
  // the process); SIGINT, SIGTERM, SIGHUP and SIGUSR1/2 are handled while it runs.
  // Throws std::system_error if the address cannot be bound, what on_listening throws
  // (after stopping), and std::logic_error when called a second time.
  int run();
  // Thread-safe, also from a signal-watching thread: begins the graceful shutdown.
  void stop();
  // Thread-safe: ends the graceful shutdown's grace period at once (run() then returns 0).
  void cut_now();
  // Called once every thread listens, with the bound address and the backend in use.
  std::function<void(const SocketAddress&, std::string_view backend, unsigned threads)> on_listening;

 private:
  void on_every_thread(void (ServerThread::*step)());
  struct Shared;
  Router router_;
  ServerOptions options_;
  std::unique_ptr<Shared> shared_;
};

}  // namespace hellepoll::http
