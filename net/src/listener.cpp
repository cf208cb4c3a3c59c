#include "hellepoll/net/listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <deque>

#include "hellepoll/scheduler.hpp"

namespace hellepoll {
namespace detail {

// The multishot accept and its queue. Heap-allocated so its address (the io_uring
// user_data) stays put when the Listener moves, and so it can outlive a destroyed
// Listener until the kernel's last completion for it arrives.
struct AcceptState : Operation {
  Socket socket;
  std::deque<int> ready;  // accepted, not yet handed out
  int error = 0;          // -errno to hand to the next accept()
  // The AcceptAwaitable suspended on this state, from await_suspend until it resumes
  // (woken or not), so that destroying the Listener can detach it.
  Listener::AcceptAwaitable* waiting = nullptr;
  bool armed = false;
  bool mode_set = false;  // O_NONBLOCK as the backend of the first accept wants it
  bool orphaned = false;
  bool closed = false;

  AcceptState() {
    code = OpCode::accept_multi;
    on_complete = &AcceptState::completed;
  }
  ~AcceptState() {
    for (int fd : ready) ::close(fd);
  }

  static void completed(Operation& o, int res, std::uint32_t flags) noexcept {
    auto& st = static_cast<AcceptState&>(o);
    if (!(flags & completion_more)) st.armed = false;
    if (st.orphaned) {
      if (res >= 0) ::close(res);
      if (!st.armed) delete &st;
      return;
    }
    if (res >= 0) st.ready.push_back(res);
    else st.error = res;
    if (st.waiting) st.waiting->wake();
  }
};

void destroy_accept_state(AcceptState* st) {
  if (!st) return;
  if (st->waiting) std::exchange(st->waiting, nullptr)->detach();
  if (st->armed) {
    // The kernel still holds the operation: cancel it and let its last completion free
    // the state. On epoll that completion runs inside cancel(), so `st` must not be
    // touched after it; the fd is taken out first and closed last.
    const int fd = st->socket.release();
    st->orphaned = true;
    Scheduler* s = Scheduler::current_or_null();
    if (s) s->backend().cancel(*st);
    if (s) s->backend().forget_fd(fd);
    ::close(fd);
    return;
  }
  delete st;
}

}  // namespace detail

Listener::Listener() noexcept : state_(nullptr, &detail::destroy_accept_state) {}
Listener::Listener(Listener&&) noexcept = default;
Listener& Listener::operator=(Listener&&) noexcept = default;
Listener::~Listener() = default;

int Listener::fd() const noexcept { return state_ ? state_->socket.fd() : -1; }

namespace {

// A TCP socket with the options set, bound to `at`, not yet listening.
Result<Socket> bound_socket(const SocketAddress& at, const ListenOptions& options) {
  auto sock = Socket::open_tcp(at.family());
  if (!sock) return sock.error();
  if (options.reuse_address) {
    if (auto r = sock->set_option(SOL_SOCKET, SO_REUSEADDR, 1); !r) return r.error();
  }
  if (options.reuse_port) {
    if (auto r = sock->set_option(SOL_SOCKET, SO_REUSEPORT, 1); !r) return r.error();
  }
  if (options.nodelay) {
    if (auto r = sock->set_option(IPPROTO_TCP, TCP_NODELAY, 1); !r) return r.error();
  }
  if (::bind(sock->fd(), at.data(), at.size()) < 0) return errno_code(-errno);
  return sock;
}

}  // namespace

Result<Listener> Listener::bind(const SocketAddress& at, const ListenOptions& options) {
  if (options.reuse_port && options.new_group && at.port() != 0) {
    // A bind without SO_REUSEPORT fails on a port that any socket listens on (SO_REUSEADDR
    // lets it past connections in TIME_WAIT only). It never listens, and is closed at once.
    ListenOptions plain = options;
    plain.reuse_port = false;
    if (auto probe = bound_socket(at, plain); !probe) return probe.error();
  }
  auto sock = bound_socket(at, options);
  if (!sock) return sock.error();
  if (::listen(sock->fd(), options.backlog) < 0) return errno_code(-errno);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(sock->fd(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) return errno_code(-errno);

  Listener l;
  l.state_.reset(new detail::AcceptState());
  l.state_->fd = sock->fd();
  l.state_->socket = std::move(*sock);
  l.address_ = SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
  return l;
}

void Listener::close() noexcept {
  if (!state_ || state_->closed) return;
  state_->closed = true;
  if (state_->armed) Scheduler::current().backend().cancel(*state_);
  state_->socket.close_now();
  if (state_->waiting && !state_->waiting->woken_) {
    state_->error = -ECANCELED;
    state_->waiting->wake();
  }
}

std::vector<TcpStream> Listener::take_pending() {
  std::vector<TcpStream> out;
  if (!state_) return out;
  for (int fd : state_->ready) out.emplace_back(Socket(fd));
  state_->ready.clear();
  if (!state_->socket.is_open()) return out;
  Backend& backend = Scheduler::current().backend();
  const int flags = SOCK_CLOEXEC | (backend.wants_nonblocking_sockets() ? SOCK_NONBLOCK : 0);
  // The listening socket is blocking under io_uring: make it non-blocking, so this sweep
  // stops at an empty backlog (the listener is about to close anyway).
  const int lfd = state_->socket.fd();
  ::fcntl(lfd, F_SETFL, ::fcntl(lfd, F_GETFL) | O_NONBLOCK);
  for (;;) {
    int fd = ::accept4(lfd, nullptr, nullptr, flags);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;  // EAGAIN: the backlog is empty (or a real error: nothing more to take)
    }
    backend.forget_fd(fd);
    out.emplace_back(Socket(fd));
  }
  return out;
}

Listener::AcceptAwaitable::~AcceptAwaitable() {
  if (TimerNode::armed()) Scheduler::current().timers().disarm(*this);
  if (state_ && state_->waiting == this) state_->waiting = nullptr;
}

bool Listener::AcceptAwaitable::await_ready() const noexcept {
  return !state_ || !state_->ready.empty() || state_->error != 0 || state_->closed;
}

bool Listener::AcceptAwaitable::await_suspend(std::coroutine_handle<> h) {
  detail::AcceptState& st = *state_;
  if (st.waiting) {
    st.error = -EBUSY;  // one acceptor per listener at a time
    return false;
  }
  if (!st.armed) {
    Scheduler& sched = Scheduler::current();
    if (!st.mode_set) {
      // The socket may have been bound on another thread, before any scheduler (Server
      // binds its ports first): epoll accepts until EAGAIN, io_uring's accept waits.
      const int fd = st.socket.fd();
      const int fl = ::fcntl(fd, F_GETFL);
      ::fcntl(fd, F_SETFL, sched.backend().wants_nonblocking_sockets() ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
      sched.backend().forget_fd(fd);  // as Socket::open_tcp does: the number may be stale here
      st.mode_set = true;
    }
    int inline_result = 0;
    st.armed = true;
    if (sched.start(st, inline_result)) {
      st.armed = false;
      st.error = inline_result;
      return false;
    }
    // On epoll, connections already waiting were accepted during start().
    if (!st.ready.empty() || st.error) return false;
  }
  waiter_ = h;
  st.waiting = this;
  if (!deadline_.is_never()) Scheduler::current().timers().arm(*this, deadline_.at, &AcceptAwaitable::deadline_passed);
  return true;
}

void Listener::AcceptAwaitable::wake() noexcept {
  if (woken_) return;
  woken_ = true;
  Scheduler& s = Scheduler::current();
  if (TimerNode::armed()) s.timers().disarm(*this);
  s.schedule(waiter_);
}

void Listener::AcceptAwaitable::detach() noexcept {
  state_ = nullptr;
  detached_ = true;
  wake();
}

void Listener::AcceptAwaitable::deadline_passed(TimerNode& n, bool) noexcept {
  auto& a = static_cast<AcceptAwaitable&>(n);
  a.timed_out_ = true;
  a.wake();
}

Result<TcpStream> Listener::AcceptAwaitable::await_resume() {
  if (detached_) return errno_code(-ECANCELED);
  if (!state_) return errno_code(-EBADF);
  detail::AcceptState& st = *state_;
  if (st.waiting == this) st.waiting = nullptr;
  if (!st.ready.empty()) {
    int fd = st.ready.front();
    st.ready.pop_front();
    return TcpStream(Socket(fd));
  }
  if (st.error) return errno_code(std::exchange(st.error, 0));  // stored as -errno
  if (timed_out_) return errno_code(-ETIMEDOUT);
  return errno_code(-ECANCELED);
}

}  // namespace hellepoll
