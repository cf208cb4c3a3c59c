// A listening TCP socket. accept() is an awaitable; underneath, one multishot accept
// stays armed (io_uring's IORING_OP_ACCEPT multishot; on epoll, accept-until-EAGAIN on
// each readiness edge) and connections that arrive meanwhile are queued.
#pragma once

#include <memory>
#include <vector>

#include "hellepoll/clock.hpp"
#include "hellepoll/net/address.hpp"
#include "hellepoll/net/result.hpp"
#include "hellepoll/net/socket.hpp"
#include "hellepoll/net/tcp_stream.hpp"
#include "hellepoll/timer_queue.hpp"

namespace hellepoll {

struct ListenOptions {
  int backlog = 4096;
  bool reuse_address = true;
  bool reuse_port = false;  // N schedulers on N threads share a port (the kernel balances)
  // With reuse_port: start a group rather than join one. A port some socket already
  // listens on is EADDRINUSE, as without reuse_port, so a second server (any process of
  // the same user may join a group) cannot silently take a share of this one's clients.
  // The other threads of the group then bind with new_group = false.
  bool new_group = false;
  bool nodelay = true;      // inherited by accepted sockets
};

namespace detail {
struct AcceptState;
void destroy_accept_state(AcceptState*);
}

class Listener {
 public:
  Listener() noexcept;
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  ~Listener();

  static Result<Listener> bind(const SocketAddress& at, const ListenOptions& options = {});

  // [[nodiscard]]: `listener.accept();` without co_await accepts nothing.
  class [[nodiscard]] AcceptAwaitable : private TimerNode {
   public:
    AcceptAwaitable(detail::AcceptState* state, Deadline d) noexcept : state_(state), deadline_(d) {}
    AcceptAwaitable(const AcceptAwaitable&) = delete;
    ~AcceptAwaitable();
    bool await_ready() const noexcept;
    bool await_suspend(std::coroutine_handle<> h);
    Result<TcpStream> await_resume();

   private:
    friend class Listener;
    friend struct detail::AcceptState;
    friend void detail::destroy_accept_state(detail::AcceptState*);
    static void deadline_passed(TimerNode& n, bool cancelled) noexcept;
    void wake() noexcept;
    // The Listener is going away: forget its state and resume with ECANCELED.
    void detach() noexcept;
    detail::AcceptState* state_;
    std::coroutine_handle<> waiter_;
    Deadline deadline_;
    bool woken_ = false;
    bool timed_out_ = false;
    bool detached_ = false;
  };

  // The next connection; ETIMEDOUT after the deadline, or the error accept(2) reported
  // (EMFILE, ...). After an error the next call re-arms.
  AcceptAwaitable accept(Deadline d = {}) noexcept { return AcceptAwaitable(state_.get(), d); }

  const SocketAddress& local_address() const noexcept { return address_; }
  int fd() const noexcept;
  // Stops listening: pending accepts resume with ECANCELED.
  void close() noexcept;
  // Every connection already accepted by the kernel but not yet handed out: the queue of
  // the multishot accept, then the listen backlog (non-blocking accepts until EAGAIN).
  // For a graceful stop: take these before close(), which would reset them.
  std::vector<TcpStream> take_pending();

 private:
  std::unique_ptr<detail::AcceptState, void (*)(detail::AcceptState*)> state_;
  SocketAddress address_;
};

}  // namespace hellepoll
