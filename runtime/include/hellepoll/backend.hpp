// The one seam between the portable runtime and the kernel.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hellepoll/operation.hpp"

namespace hellepoll {

enum class BackendKind { auto_detect, uring, epoll };

std::string_view to_string(BackendKind k) noexcept;
// Parses "auto", "uring" (or "io_uring"), "epoll"; throws std::invalid_argument naming
// the bad value otherwise.
BackendKind parse_backend_kind(std::string_view name);
// The backend a program should use: the command-line flag if given, else the
// HELLEPOLL_BACKEND environment variable, else auto.
BackendKind backend_kind_from(std::optional<std::string_view> flag);

struct BackendOptions {
  unsigned ring_entries = 1024;  // io_uring SQ size (at most 32,768); the CQ 8x that (at most 65,536)
  unsigned file_threads = 4;     // epoll: worker threads for regular-file operations
  unsigned file_queue = 4096;    // epoll: bound on queued file operations
  // io_uring: a socket read more than once gets one multishot receive for its lifetime,
  // into a ring of this many provided buffers (rounded up to a power of two) of
  // recv_buffer_size bytes each, shared by the thread's sockets. 0 turns it off: one
  // recv SQE per call.
  unsigned recv_buffers = 512;
  unsigned recv_buffer_size = 4096;
  // io_uring on kernels 6.12+ (IORING_FEAT_MIN_TIMEOUT): under load, a thread with
  // nothing left to do sleeps until a batch of completions is there (as many as came
  // since its last sleep, at most 16 and at most a quarter of the sockets it reads), or
  // until this long has passed and at least one is. Fewer, fuller wake-ups cost less CPU
  // per request; the price is that a completion may wait up to this long for company (a
  // lone client is never held). Timers still fire on time; a wake() from another thread
  // may be this late. At most 1 s; 0: wake on the first completion.
  std::chrono::microseconds batch_wait{200};
};

// Events worth watching under load; all zero on epoll.
struct BackendCounters {
  // Completions that outran the completion queue and were recovered from the kernel's
  // overflow list (nothing is lost; a growing count says ring_entries is too small).
  std::uint64_t completion_overflows = 0;
  // Multishot receives the kernel ended because every provided buffer was taken
  // (ENOBUFS); each is re-armed, nothing is lost. A growing count says recv_buffers is
  // too small for the load.
  std::uint64_t recv_buffer_shortages = 0;
  // Sleeps that waited for a batch of completions (BackendOptions::batch_wait).
  std::uint64_t batched_waits = 0;
  // Sockets entered in the ring's file table, so that their sends skip the file lookup
  // (io_uring on Linux 6.13+; a socket read more than once is entered).
  std::uint64_t registered_sockets = 0;
  // The most bytes one socket's receive stash has held: bytes that arrived for a socket
  // read by a multishot receive while nobody was reading it. At most 64 KiB plus one
  // receive buffer on Linux 6.17+; earlier kernels add what one burst of completions
  // brought before the multishot's cancel landed.
  std::uint64_t largest_recv_stash = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual BackendKind kind() const noexcept = 0;
  // A human-readable line: which backend and with which features.
  virtual std::string describe() const = 0;
  // epoll needs O_NONBLOCK sockets; io_uring wants blocking ones (non-blocking sockets
  // under io_uring return spurious EAGAIN from accept under load).
  virtual bool wants_nonblocking_sockets() const noexcept = 0;

  // Starts `op`. Returns true when it completed at once, in which case on_complete is
  // NOT called and the result was passed through `inline_result`. Otherwise the op is in
  // flight and on_complete runs later, on the scheduler's thread.
  virtual bool submit(Operation& op, int& inline_result) = 0;
  // Asks for `op` to be cancelled. It still completes, with -ECANCELED or its real result.
  virtual void cancel(Operation& op) = 0;
  // Cancels everything in flight (scheduler shutdown).
  virtual void cancel_all() = 0;
  // Flushes submissions and delivers completions. Blocks for at most `timeout`
  // (nullopt: until something completes or wake() is called; zero: not at all).
  virtual void poll(std::optional<std::chrono::nanoseconds> timeout) = 0;
  // Thread-safe: makes a blocked poll() return.
  virtual void wake() noexcept = 0;
  // Operations submitted and not yet finally completed (wake-up machinery excluded).
  virtual std::size_t in_flight() const noexcept = 0;
  // Forget what the backend knows about `fd` before it is closed synchronously.
  virtual void forget_fd(int fd) noexcept = 0;
  // Whether bytes came for the socket `fd` that nobody has read yet, whether the backend
  // holds them or the kernel still does: closing it now would answer them with a RST,
  // which can destroy the end of a reply the peer has not read (see http's lingering
  // close). `after_short_read`: the last recv returned less than it asked for, which
  // where the backend can tell means the socket was empty then (no system call; bytes
  // that came since go unseen). Otherwise the kernel is asked.
  virtual bool input_waiting(int fd, bool after_short_read) const noexcept = 0;
  // Closes `fd`, which nothing else uses any more, without waiting for the result (see
  // io::close_detached). The default closes it at once.
  virtual void close_detached(int fd) noexcept {
    forget_fd(fd);
    ::close(fd);
  }
  virtual BackendCounters counters() const noexcept { return {}; }

  // Changes whenever operations started so far may have reached the kernel: two
  // operations started under the same value reach it together, after both were started.
  // io_uring queues operations until the loop's next submit (or a full queue); epoll
  // starts each one at once, so every start changes it. Lets requests that came in
  // together share one operation without any of them seeing an older result than its own
  // would have been (see http's shared open).
  std::uint64_t submission_epoch() const noexcept { return submission_epoch_; }

 protected:
  std::uint64_t submission_epoch_ = 0;
};

// Creates the backend for `kind`. For auto_detect, probes io_uring and falls back to
// epoll with one log line saying why; for uring, throws std::system_error with a clear
// message when io_uring is unavailable.
std::unique_ptr<Backend> make_backend(BackendKind kind, const BackendOptions& options = {});

}  // namespace hellepoll
