#include "hellepoll/http/server.hpp"

#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "hellepoll/log.hpp"
#include "hellepoll/scheduler.hpp"
#include "hellepoll/sleep.hpp"
#include "access_log.hpp"
#include "descriptors_ran_out.hpp"
#include "log_throttle.hpp"
#include "switch_user.hpp"

namespace hellepoll::http {

using namespace std::chrono_literals;

void ServerThread::untrack(Tracked* c) noexcept {
  Tracked* last = connections_.back();
  connections_[c->index] = last;
  last->index = c->index;
  connections_.pop_back();
  // A wave of connections has gone (a burst of clients that closed, or hostile ones cut
  // off): free() keeps what they used inside the process, so hand whole free pages back
  // to the kernel each time half of the peak has gone. Never under steady churn, where
  // the count stays near its peak.
  if (peak_connections_ >= 64 && connections_.size() <= peak_connections_ / 2) {
    ::malloc_trim(0);
    peak_connections_ = connections_.size();
  }
}

void ServerThread::drain() {
  if (draining_) return;
  draining_ = true;
  if (listener_) {
    // Connections the kernel already accepted are in flight too: serve them rather than
    // let close() reset them.
    for (TcpStream& pending : listener_->take_pending()) spawn(serve_connection(std::move(pending), *this));
    listener_->close();
  }
  // Idle connections (kept alive, or fresh, with no byte of a request read) have nothing
  // to finish: end their reading so they close now. SHUT_RD, not SHUT_RDWR: bytes already
  // in the socket are still read first, and a request the kernel had already handed over
  // (an io_uring completion not yet run) can still be answered. Busy connections see
  // draining() and close after their response.
  for (Tracked* c : connections_)
    if (c->idle) ::shutdown(c->fd, SHUT_RD);
}

namespace {
thread_local ServerThread* serving_thread = nullptr;  // this thread's, while serve() runs
}  // namespace

namespace detail {
void descriptors_ran_out() noexcept {
  if (serving_thread) serving_thread->reclaim_idle();
}
}  // namespace detail

void ServerThread::reclaim_idle() noexcept {
  std::size_t at_most = std::max<std::size_t>(1, connections_.size() / 32);
  const TimePoint settled = Clock::now() - 100ms;
  for (Tracked* c : connections_) {
    if (at_most == 0) break;
    if (!c->idle || c->idle_since > settled) continue;
    ::shutdown(c->fd, SHUT_RD);
    c->idle = false;  // not picked again before it has closed
    --at_most;
  }
}

Task<void> ServerThread::serve(Listener& listener) {
  listener_ = &listener;
  serving_thread = this;
  while (!draining_) {
    auto conn = co_await listener.accept();
    if (!conn) {
      if (draining_ || conn.error() == std::errc::operation_canceled) break;
      const int err = conn.error().value();
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Out of descriptors or memory: say so (at most once a minute), back off instead
        // of spinning, and resume when connections close. Connections waiting for a
        // request (kept alive, or connected and silent) are closed a few at a time
        // meanwhile, as nginx does when short of connections (RFC 9112 §9.8 lets a server
        // close an idle one at any time): otherwise a client in the backlog waits for idle
        // timeouts, and one who holds every descriptor with silent connections shuts
        // everybody else out. Only for a client that is there: Linux fails accept with
        // EMFILE before it looks at the backlog, so epoll's accept-until-EAGAIN meets it
        // after every connection that takes the last descriptor.
        static detail::LogThrottle once_a_minute(60);
        if (once_a_minute.allow()) log(LogLevel::error, "accept: {}; backing off, closing idle connections for waiting clients", conn.error().message());
        pollfd backlog{listener.fd(), POLLIN, 0};
        if (::poll(&backlog, 1, 0) > 0) reclaim_idle();
        co_await sleep_for(50ms);
        continue;
      }
      log(LogLevel::warn, "accept: {}", conn.error().message());
      continue;
    }
    spawn(serve_connection(std::move(*conn), *this));
  }
  listener_ = nullptr;
  serving_thread = nullptr;
  // drain() spawned the connections it took from the listener's queue and backlog; they
  // are tracked once they start, which may be after this resumes in the same turn (an
  // accept completion had scheduled us first). Let them start, or with every connection
  // still pending at SIGTERM we would see none and exit, dropping them all.
  co_await yield();
  // Let in-flight requests finish, up to the grace period.
  const auto deadline = saturating_add(Clock::now(), options_.grace_period);
  while (!connections_.empty() && Clock::now() < deadline && !cut_) co_await sleep_for(5ms);
  if (!connections_.empty()) {
    if (!cut_) log(LogLevel::warn, "grace period over: cutting {} connection(s)", connections_.size());
    Scheduler::current().stop();
  }
}

struct Server::Shared {
  std::mutex mutex;
  std::vector<std::pair<Scheduler*, ServerThread*>> threads;
  bool stop_requested = false;
  bool ran = false;
};

namespace {

// Refuses settings no server can run with, here rather than as odd behaviour later: a
// zero limit answers every request 414 or 431, a zero timeout (but write_timeout's, which
// means none) 408s a request or cuts a connection whenever its bytes are not already
// there, a negative one does so always. Each rule is written at its field.
void validate(const ServerOptions& o) {
  const auto refuse = [](const std::string& rule) { throw std::invalid_argument("ServerOptions::" + rule); };
  if (o.threads == 0) refuse("threads must be at least 1");
  const Limits& l = o.limits;
  if (l.max_request_line == 0) refuse("limits.max_request_line must be at least 1");
  if (l.max_headers == 0) refuse("limits.max_headers must be at least 1 (HTTP/1.1 requires Host)");
  // The head includes its request line: a smaller head limit answers 431 where 414 was set.
  if (l.max_header_bytes < l.max_request_line)
    refuse("limits.max_header_bytes (" + std::to_string(l.max_header_bytes) +
           ") must be at least limits.max_request_line (" + std::to_string(l.max_request_line) + ")");
  if (l.max_trailer_bytes < 2)
    refuse("limits.max_trailer_bytes must be at least 2 (it counts a chunked body's final CRLF)");
  const std::pair<const char*, Duration> positive[] = {
      {"idle_timeout", o.idle_timeout}, {"header_timeout", o.header_timeout}, {"body_timeout", o.body_timeout}};
  for (const auto& [name, d] : positive)
    if (d <= Duration::zero())
      refuse(std::string(name) + " must be positive (zero is not \"no limit\" here: Duration::max() is)");
  const std::pair<const char*, Duration> not_negative[] = {
      {"idle_release_after", o.idle_release_after}, {"write_timeout", o.write_timeout}, {"grace_period", o.grace_period}};
  for (const auto& [name, d] : not_negative)
    if (d < Duration::zero()) refuse(std::string(name) + " must not be negative");
}

}  // namespace

Server::Server(Router router, ServerOptions options)
    : router_(std::move(router)), options_(std::move(options)), shared_(std::make_unique<Shared>()) {
  validate(options_);
}

Server::~Server() = default;

void Server::stop() { on_every_thread(&ServerThread::drain); }

void Server::cut_now() { on_every_thread(&ServerThread::cut); }

// Runs `step` (drain, or cut, which drains first) on each server thread, on that thread.
// A thread that registers later drains at once: thread_main reads stop_requested under
// the same lock.
void Server::on_every_thread(void (ServerThread::*step)()) {
  std::lock_guard lock(shared_->mutex);
  shared_->stop_requested = true;
  for (auto [sched, thread] : shared_->threads) {
    ServerThread* t = thread;
    sched->post([t, step] { (t->*step)(); });
  }
}

int Server::run() {
  // Stopped once, it would return at once: say so instead of a silent 0. (A run that
  // could not bind its port may be tried again.)
  if (shared_->ran) throw std::logic_error("hellepoll: Server::run called twice: a Server runs once");
  const unsigned n = options_.threads;
  // Every listener is bound here, before any thread or ring exists: a port below 1024
  // needs root, and options_.user gives root up before the first scheduler is made (its
  // io_uring workers would keep root's credentials). Thread 0's listener starts the
  // SO_REUSEPORT group, so that port 0 becomes a real port the others can share.
  std::vector<Listener> listeners;
  for (unsigned i = 0; i < n; ++i) {
    ListenOptions lo;
    lo.reuse_port = n > 1;
    lo.new_group = i == 0;  // never a share of another server's port
    Result<Listener> l = Listener::bind(i == 0 ? options_.address : listeners[0].local_address(), lo);
    if (!l) throw std::system_error(l.error(), "cannot listen on " + options_.address.to_string());
    listeners.push_back(std::move(*l));
  }
  shared_->ran = true;
  if (!options_.user.empty()) {
    // The access log may reopen /proc/self/fd/1, which is root's alone after the switch.
    if (options_.access_log) open_access_log();
    switch_user(options_.user);
  }

  // Signals: blocked in every thread (the mask is inherited), received by one watcher.
  // SIGHUP and SIGUSR1/2 (reload, reopen logs, by nginx's conventions) would end the
  // process silently by default, cutting every request: there is nothing to reload or
  // reopen (the access log is stdout), so they are told and ignored.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&signals, sig);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &signals, &old_mask);
  std::signal(SIGPIPE, SIG_IGN);  // a client that goes away must never kill the server

  std::latch listening(n);
  std::exception_ptr start_error;
  const SocketAddress bound = listeners[0].local_address();
  std::string backend_name;
  std::mutex setup_mutex;
  std::atomic<bool> finished{false};

  auto thread_main = [&](unsigned index) {
    bool counted = false;  // down on `listening` once, whatever throws
    try {
      // The scheduler goes first: connections the grace period cut are still suspended
      // when block_on returns, and ~Scheduler destroys them, which untracks each from `st`.
      // The listener goes after it, so that it is closed while its scheduler still runs.
      ServerThread st(router_, options_);
      Scheduler sched(SchedulerOptions{options_.backend, options_.backend_options});
      Listener listener = std::move(listeners[index]);
      if (index == 0) {
        std::lock_guard lock(setup_mutex);
        backend_name = sched.backend().describe();
      }
      // Known to stop() and cut_now() while the scheduler lives, and no longer, whatever
      // ends block_on.
      struct Registration {
        Shared& shared;
        std::pair<Scheduler*, ServerThread*> entry;
        Registration(Shared& s, Scheduler* sched, ServerThread* st) : shared(s), entry(sched, st) {
          std::lock_guard lock(shared.mutex);
          shared.threads.push_back(entry);
          if (shared.stop_requested) st->drain();
        }
        ~Registration() {
          std::lock_guard lock(shared.mutex);
          std::erase(shared.threads, entry);
        }
      } registration(*shared_, &sched, &st);
      counted = true;
      listening.count_down();
      sched.block_on(st.serve(listener));
    } catch (...) {
      std::lock_guard lock(setup_mutex);
      if (!start_error) start_error = std::current_exception();
      if (!counted) listening.count_down();
    }
  };

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < n; ++i) workers.emplace_back(thread_main, i);
  std::thread watcher;
  std::thread main_thread(thread_main, 0);
  listening.wait();
  {
    std::lock_guard lock(setup_mutex);
    if (start_error) {
      stop();
    } else {
      if (on_listening) {
        try {
          on_listening(bound, backend_name, n);
        } catch (...) {  // stop, join, restore the signal mask, then rethrow
          start_error = std::current_exception();
          stop();
        }
      }
    }
    if (!start_error) {
      // A watcher that turns SIGINT/SIGTERM into stop(); it ends when the server does.
      watcher = std::thread([this, signals, &finished] {
        const timespec tick{0, 100'000'000};
        bool stopping = false;
        while (!finished.load()) {
          const int sig = sigtimedwait(&signals, nullptr, &tick);
          if (sig < 0) continue;
          const char* name = sigabbrev_np(sig);
          if (sig != SIGINT && sig != SIGTERM) {
            log(LogLevel::info, "SIG{}: ignored (nothing to reload or reopen; SIGTERM or SIGINT stops the server)", name);
          } else if (!stopping) {
            log(LogLevel::info, "SIG{}: finishing in-flight requests, then exiting (again: exit now)", name);
            stopping = true;
            stop();
          } else {
            log(LogLevel::info, "SIG{} again: cutting in-flight requests, exiting now", name);
            cut_now();
          }
        }
      });
    }
  }
  main_thread.join();
  for (auto& w : workers) w.join();
  if (options_.access_log) finish_access_log();  // no thread logs now: the rest of a line cut short, if any
  finished.store(true);
  if (watcher.joinable()) watcher.join();
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (start_error) std::rethrow_exception(start_error);
  return 0;
}

}  // namespace hellepoll::http
