#include "uring_backend.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string_view>
#include <system_error>

#include "hellepoll/log.hpp"
#include "syscall_ops.hpp"

namespace hellepoll::detail {
namespace {

// The opcodes every hellepoll operation maps to; a kernel without one of them is treated
// like a kernel without io_uring (epoll serves instead).
constexpr struct {
  int opcode;
  std::string_view name;
} required_opcodes[] = {
    {IORING_OP_NOP, "NOP"},         {IORING_OP_ACCEPT, "ACCEPT"},   {IORING_OP_CONNECT, "CONNECT"},
    {IORING_OP_RECV, "RECV"},       {IORING_OP_SEND, "SEND"},       {IORING_OP_SENDMSG, "SENDMSG"},
    {IORING_OP_SHUTDOWN, "SHUTDOWN"}, {IORING_OP_CLOSE, "CLOSE"},   {IORING_OP_READ, "READ"},
    {IORING_OP_WRITE, "WRITE"},     {IORING_OP_OPENAT, "OPENAT"},   {IORING_OP_OPENAT2, "OPENAT2"},   {IORING_OP_STATX, "STATX"},
    {IORING_OP_FSYNC, "FSYNC"},     {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
    {IORING_OP_POLL_ADD, "POLL_ADD"},
};

// IORING_FEAT_MIN_TIMEOUT (kernel 6.12): io_uring_getevents_arg.min_wait_usec is read.
constexpr unsigned kFeatMinTimeout = 1u << 15;
// The most completions a batched wait asks for (see batch_size).
constexpr unsigned kMaxBatch = 16;

// The kernel's sqe->len is 32 bits: a larger request is a short read/write, which callers
// handle like any partial transfer.
unsigned clamp_len(std::uint64_t len) noexcept { return len > (1u << 30) ? (1u << 30) : static_cast<unsigned>(len); }

std::string flag_names(unsigned f) {
  std::string s;
  auto add = [&](unsigned bit, std::string_view name) {
    if (!(f & bit)) return;
    if (!s.empty()) s += '|';
    s += name;
  };
  add(IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER");
  add(IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN");
  add(IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN");
  add(IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL");
  add(IORING_SETUP_CQSIZE, "CQSIZE");
  return s;
}

}  // namespace

UringBackend::UringBackend(const BackendOptions& options) {
  // The kernel's most SQ entries; CLAMP below takes the CQ down to its own maximum.
  // (Capped here too so that the CQ's entries * 8 below cannot wrap.)
  const unsigned entries = std::min(options.ring_entries ? options.ring_entries : 1024u, 32768u);
  // The best flag set the kernel accepts. EINVAL means an unknown flag: DEFER_TASKRUN
  // (with SINGLE_ISSUER, which it requires) came with Linux 6.1, COOP_TASKRUN with 5.19,
  // which io_uring needs anyway (see cancel_any_supported). Any other error is a refusal
  // of io_uring.
  constexpr unsigned kBase = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL;
  constexpr unsigned flag_sets[] = {
      kBase | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      kBase | IORING_SETUP_COOP_TASKRUN,
  };
  int rc = -EINVAL;
  unsigned features = 0;
  for (unsigned flags : flag_sets) {
    if ((flags & IORING_SETUP_DEFER_TASKRUN) ? uring_as_kernel.lacks(6, 1) : uring_as_kernel.lacks(5, 19)) continue;
    io_uring_params p{};
    p.flags = flags;
    p.cq_entries = entries * 8;  // a CQ several times the SQ: overflow should never happen
    rc = io_uring_queue_init_params(entries, &ring_, &p);
    if (rc == 0) {
      setup_flags_ = flags;
      features = p.features;
      break;
    }
    if (rc != -EINVAL) break;
  }
  if (rc == -EINVAL)
    throw std::system_error(EOPNOTSUPP, std::generic_category(),
                            "io_uring before Linux 5.19 (io_uring_setup refused IORING_SETUP_COOP_TASKRUN)");
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring_setup");

  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  if (!probe) {
    io_uring_queue_exit(&ring_);
    throw std::system_error(EOPNOTSUPP, std::generic_category(), "io_uring opcode probe");
  }
  for (const auto& op : required_opcodes) {
    if (!io_uring_opcode_supported(probe, op.opcode)) {
      io_uring_free_probe(probe);
      io_uring_queue_exit(&ring_);
      throw std::system_error(EOPNOTSUPP, std::generic_category(),
                              std::string("io_uring lacks opcode IORING_OP_").append(op.name));
    }
  }
  const bool files_update = io_uring_opcode_supported(probe, IORING_OP_FILES_UPDATE);
  io_uring_free_probe(probe);
  if (!cancel_any_supported()) {
    io_uring_queue_exit(&ring_);
    throw std::system_error(EOPNOTSUPP, std::generic_category(),
                            "io_uring before Linux 5.19 (no IORING_ASYNC_CANCEL_ANY: a stopping thread could not "
                            "cancel what it has in flight)");
  }

  if ((features & kFeatMinTimeout) && !uring_as_kernel.lacks(6, 12))
    batch_wait_us_ = static_cast<unsigned>(std::clamp<std::chrono::microseconds::rep>(options.batch_wait.count(), 0, 1'000'000));

  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    int e = errno;
    io_uring_queue_exit(&ring_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  wake_op_.code = OpCode::read_at;
  wake_op_.fd = wake_fd_;
  wake_op_.ptr = &wake_value_;
  wake_op_.len = sizeof wake_value_;
  wake_op_.on_complete = &UringBackend::wake_completed;
  wake_op_.ptr2 = this;
  setup_recv_buffers(options);
  setup_fixed_files(files_update);
}

UringBackend::~UringBackend() {
  // Nothing may still reference our memory when the ring goes: cancel and drain.
  shutting_down_ = true;
  if (wake_armed_ || in_flight_ > 0 || streams_armed_ > 0) {
    cancel_all();
    for (int spins = 0; (wake_armed_ || in_flight_ > 0 || streams_armed_ > 0) && spins < 1000; ++spins)
      poll(std::chrono::milliseconds(10));
  }
  io_uring_queue_exit(&ring_);
  free_streams();
  ::close(wake_fd_);
}

std::string UringBackend::describe() const {
  std::string s = "io_uring (" + flag_names(setup_flags_);
  if (multishot_recv_)
    s += std::string("; multishot recv") + (multishot_limit_ ? "" : " (no byte limit)") + " into " +
         std::to_string(recv_count_) + " x " + std::to_string(recv_size_) + " B buffers";
  if (batch_wait_us_) s += "; batched waits up to " + std::to_string(batch_wait_us_) + " us";
  if (fixed_slots_) s += "; sends by a " + std::to_string(fixed_slots_) + "-slot file table";
  return s + ")";
}

io_uring_sqe* UringBackend::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe) return sqe;
  // A full SQ is an expected state: hand the batch to the kernel and take a fresh slot.
  ++submission_epoch_;
  io_uring_submit(&ring_);
  return io_uring_get_sqe(&ring_);
}

void UringBackend::prepare(io_uring_sqe* sqe, Operation& op) noexcept {
  switch (op.code) {
    case OpCode::nop: io_uring_prep_nop(sqe); break;
    case OpCode::accept:
      io_uring_prep_accept(sqe, op.fd, static_cast<sockaddr*>(op.ptr), static_cast<socklen_t*>(op.ptr2),
                           SOCK_CLOEXEC);
      break;
    case OpCode::accept_multi:
      io_uring_prep_multishot_accept(sqe, op.fd, static_cast<sockaddr*>(op.ptr), static_cast<socklen_t*>(op.ptr2),
                                     SOCK_CLOEXEC);
      break;
    case OpCode::connect:
      io_uring_prep_connect(sqe, op.fd, static_cast<const sockaddr*>(op.ptr), static_cast<socklen_t>(op.len));
      break;
    case OpCode::recv:
      io_uring_prep_recv(sqe, op.fd, op.ptr, clamp_len(op.len), static_cast<int>(op.flags));
      break;
    case OpCode::send:
      io_uring_prep_send(sqe, op.fd, op.ptr, clamp_len(op.len), static_cast<int>(op.flags) | MSG_NOSIGNAL);
      break;
    case OpCode::sendmsg:
      io_uring_prep_sendmsg(sqe, op.fd, static_cast<const msghdr*>(op.ptr), op.flags | MSG_NOSIGNAL);
      break;
    case OpCode::shutdown: io_uring_prep_shutdown(sqe, op.fd, static_cast<int>(op.flags)); break;
    case OpCode::close: io_uring_prep_close(sqe, op.fd); break;
    case OpCode::read_at: io_uring_prep_read(sqe, op.fd, op.ptr, clamp_len(op.len), op.offset); break;
    case OpCode::write_at: io_uring_prep_write(sqe, op.fd, op.ptr, clamp_len(op.len), op.offset); break;
    case OpCode::openat:
      io_uring_prep_openat(sqe, op.fd, static_cast<const char*>(op.ptr), static_cast<int>(op.flags) | O_CLOEXEC,
                           static_cast<mode_t>(op.len));
      break;
    case OpCode::openat2:
      io_uring_prep_openat2(sqe, op.fd, static_cast<const char*>(op.ptr), static_cast<open_how*>(op.ptr2));
      break;
    case OpCode::statx:
      io_uring_prep_statx(sqe, op.fd, static_cast<const char*>(op.ptr), static_cast<int>(op.flags),
                          static_cast<unsigned>(op.len), static_cast<struct statx*>(op.ptr2));
      break;
    case OpCode::fsync: io_uring_prep_fsync(sqe, op.fd, op.flags ? IORING_FSYNC_DATASYNC : 0); break;
    case OpCode::poll_read: io_uring_prep_poll_add(sqe, op.fd, POLLIN); break;
    case OpCode::send_file: io_uring_prep_poll_add(sqe, op.fd, POLLOUT); break;  // see submit_send_file
  }
  // A registered socket's slot is its fd number (uring_fixed_files.cpp).
  if ((op.code == OpCode::send || op.code == OpCode::sendmsg) && entered(op.fd)) sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data(sqe, &op);
}

bool UringBackend::submit(Operation& op, int& inline_result) {
  if ((op.code == OpCode::recv || op.code == OpCode::poll_read) && recv_ring_) {
    switch (take_stream_op(op, inline_result)) {
      case StreamTake::completed: return true;
      case StreamTake::waiting: return false;
      case StreamTake::not_mine: break;
    }
  }
  if (op.code == OpCode::send_file) return submit_send_file(op, inline_result);
  if (op.code == OpCode::close) forget(op.fd, true);  // as epoll does: the number is free after this
  if (offset_out_of_range(op)) {
    inline_result = -EINVAL;
    return true;
  }
  ++in_flight_;
  queue_sqe(op);
  return false;
}

// io_uring has no sendfile, and its SPLICE always runs on an io-wq worker (a thread
// hop per call, and a pipe). So send_file is the epoll backend's way here: sendfile on
// the thread, made non-blocking, and a POLL_ADD for room when the socket is full. The
// socket keeps O_NONBLOCK afterwards: io_uring's own recv and send on it still wait
// (they arm a poll on EAGAIN), so one fcntl per connection is enough.
bool UringBackend::submit_send_file(Operation& op, int& inline_result) {
  if (op.fd < 0) {
    inline_result = -EBADF;
    return true;
  }
  const auto fd = static_cast<std::size_t>(op.fd);
  if (fd >= nonblocking_.size()) nonblocking_.resize(fd * 2 + 1);
  if (!nonblocking_[fd]) {
    const int flags = ::fcntl(op.fd, F_GETFL);
    if (flags < 0 || ::fcntl(op.fd, F_SETFL, flags | O_NONBLOCK) < 0) {
      inline_result = -errno;
      return true;
    }
    nonblocking_[fd] = true;
  }
  const int r = perform_syscall(op);
  if (r != -EAGAIN) {
    inline_result = r;
    return true;
  }
  op.backend_state = awaiting_room;
  ++in_flight_;
  queue_sqe(op);
  return false;
}

// The socket reported room (or an error, which sendfile then reports).
void UringBackend::retry_send_file(Operation& op) {
  int r = perform_syscall(op);
  if (r == -EAGAIN) {
    if (!shutting_down_) {  // someone else took the room first: wait again
      queue_sqe(op);
      return;
    }
    r = -ECANCELED;
  }
  --in_flight_;
  op.backend_state = 0;
  op.on_complete(op, r, 0);
}

// pread ignores O_NONBLOCK on a regular file and waits for the disk. io_uring does too
// when the filesystem supports non-blocking reads (ext4, xfs, btrfs; since Linux 5.16), but
// answers EAGAIN on older kernels and on filesystems without (NFS, FUSE) when the bytes are
// not cached. Files are often opened O_NONBLOCK (so that opening a FIFO cannot hang), so
// rather than a fcntl per opened file, the flag is cleared here on the rare read that
// needs it, and the read goes again. (The test kernel never takes this path; the
// file_io test asserts the outcome on whatever kernel runs it.) Only for regular files:
// on a pipe or socket EAGAIN is the answer.
bool UringBackend::retry_read_blocking(Operation& op) {
  struct stat st {};
  if (::fstat(op.fd, &st) < 0 || !S_ISREG(st.st_mode)) return false;
  const int flags = ::fcntl(op.fd, F_GETFL);
  if (flags < 0 || !(flags & O_NONBLOCK) || ::fcntl(op.fd, F_SETFL, flags & ~O_NONBLOCK) < 0) return false;
  op.backend_state = read_retried;
  queue_sqe(op);
  return true;
}

void UringBackend::queue_sqe(Operation& op) {
  op.next = nullptr;
  io_uring_sqe* sqe = waiting_head_ ? nullptr : next_sqe();
  if (!sqe) {
    // The kernel would not take more right now (SQ full and submit refused): keep order
    // and retry at the next poll().
    if (waiting_tail_) waiting_tail_->next = &op;
    else waiting_head_ = &op;
    waiting_tail_ = &op;
    return;
  }
  prepare(sqe, op);
}

void UringBackend::flush_waiting() {
  while (waiting_head_) {
    io_uring_sqe* sqe = next_sqe();
    if (!sqe) return;
    Operation* op = waiting_head_;
    waiting_head_ = op->next;
    if (!waiting_head_) waiting_tail_ = nullptr;
    op->next = nullptr;
    prepare(sqe, *op);
  }
}

void UringBackend::cancel(Operation& op) {
  if (cancel_stream_waiter(op)) return;
  // Still in our own queue: the kernel never saw it, so finish it here.
  Operation* prev = nullptr;
  for (Operation* cur = waiting_head_; cur; prev = cur, cur = cur->next) {
    if (cur != &op) continue;
    if (prev) prev->next = cur->next;
    else waiting_head_ = cur->next;
    if (waiting_tail_ == cur) waiting_tail_ = prev;
    --in_flight_;
    op.on_complete(op, -ECANCELED, 0);
    return;
  }
  io_uring_sqe* sqe = next_sqe();
  if (!sqe) return;  // best effort; the deadline fires again only if re-armed
  io_uring_prep_cancel64(sqe, reinterpret_cast<__u64>(&op), 0);
  io_uring_sqe_set_data64(sqe, ignored);
}

void UringBackend::cancel_all() {
  shutting_down_ = true;
  while (Operation* op = waiting_head_) {
    waiting_head_ = op->next;
    if (!waiting_head_) waiting_tail_ = nullptr;
    --in_flight_;
    op->on_complete(*op, -ECANCELED, 0);
  }
  io_uring_sqe* sqe = next_sqe();
  if (!sqe) return;
  prepare_cancel_any(sqe);
  io_uring_sqe_set_data64(sqe, ignored);
  ++submission_epoch_;
  io_uring_submit(&ring_);
}

// Every operation in flight is cancelled with one SQE (Linux 5.19+).
void UringBackend::prepare_cancel_any(io_uring_sqe* sqe) noexcept {
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
}

// Kernels before 5.19 refuse the flag with EINVAL (on an empty ring, 5.19+ answers
// ENOENT). Without it cancel_all could not end what is in flight, and a stopping thread
// would wait for it forever: no io_uring for them. Mainline kernels that far back have
// already refused COOP_TASKRUN at set-up (it came with 5.19 too); this asks for the one
// thing we cannot do without, in case a vendor kernel took the flag and not the cancel.
bool UringBackend::cancel_any_supported() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) return false;
  prepare_cancel_any(sqe);
  io_uring_sqe_set_data64(sqe, ignored);
  io_uring_cqe* cqe = nullptr;
  if (io_uring_submit_and_wait(&ring_, 1) < 0 || io_uring_peek_cqe(&ring_, &cqe) != 0) return false;
  const int res = cqe->res;
  io_uring_cqe_seen(&ring_, cqe);
  return res != -EINVAL;
}

void UringBackend::arm_wake() {
  if (wake_armed_ || shutting_down_) return;
  io_uring_sqe* sqe = next_sqe();
  if (!sqe) return;
  prepare(sqe, wake_op_);
  wake_armed_ = true;
}

void UringBackend::wake_completed(Operation& op, int, std::uint32_t) noexcept {
  // The scheduler looks at its posted queue every turn; re-arming happens in poll().
  static_cast<UringBackend*>(op.ptr2)->wake_armed_ = false;
}

// The close rides in the next submission instead of costing a system call of its own
// (1.6 us for the least syscall on the PVM VM the benchmarks run on); its completion is
// ignored. A file's close runs inline at submission (io_uring punts only files with a
// flush method, which local filesystems' regular files lack). A scheduler going away
// submits what is queued (cancel_all); after that, closes happen at once.
void UringBackend::close_detached(int fd) noexcept {
  forget(fd, true);
  io_uring_sqe* sqe = shutting_down_ ? nullptr : next_sqe();
  if (!sqe) {
    ::close(fd);
    return;
  }
  io_uring_prep_close(sqe, fd);
  io_uring_sqe_set_data64(sqe, ignored);
}

// Both the multishot receive and the file-table slot hold the socket open: each is ended
// before the close. With the CLOSE SQE queued right after (close_follows: TcpStream::close,
// close_detached, the http connection's ways) the ends ride in the same submission; before
// a synchronous close(2) they are submitted at once, or the connection would stay open
// until the loop's next turn (a scheduler about to finish may have none).
void UringBackend::forget(int fd, bool close_follows) noexcept {
  if (fd < 0) return;
  const auto i = static_cast<std::size_t>(fd);
  if (i < nonblocking_.size()) nonblocking_[i] = false;  // a new socket may get this number
  const bool left = leave_socket(fd);
  const bool cancelled = forget_stream(fd);
  if ((left || cancelled) && !close_follows) {
    ++submission_epoch_;
    io_uring_submit_and_get_events(&ring_);  // with DEFER_TASKRUN the cancel completes in here
  }
}

void UringBackend::wake() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_fd_, &one, sizeof one);
}

void UringBackend::poll(std::optional<std::chrono::nanoseconds> timeout) {
  ++submission_epoch_;  // whatever was queued goes to the kernel now
  flush_waiting();
  arm_wake();
  auto check = [](int rc) {
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
      throw std::system_error(-rc, std::generic_category(), "io_uring_enter");
  };
  unsigned delivered = 0;
  if (timeout && timeout->count() == 0) {
    // Submit and collect what is done without sleeping (with DEFER_TASKRUN, completions
    // are only posted when we enter the kernel asking for events).
    check(io_uring_submit_and_get_events(&ring_));
  } else if (const unsigned want = batch_size(); want > 1) {
    // Under load: what is done already is taken without sleeping; only when nothing is
    // does the thread sleep, and then for a batch.
    check(io_uring_submit_and_get_events(&ring_));
    delivered = reap();
    if (delivered == 0) {
      since_sleep_ = 0;
      ++counters_.batched_waits;
      check(submit_and_wait_batch(timeout, want));
    }
  } else {
    __kernel_timespec ts{};
    if (timeout) {
      ts.tv_sec = timeout->count() / 1'000'000'000;
      ts.tv_nsec = timeout->count() % 1'000'000'000;
    }
    io_uring_cqe* cqe = nullptr;
    since_sleep_ = 0;
    check(io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout ? &ts : nullptr, nullptr));
  }
  delivered += reap();
  since_sleep_ = std::min(since_sleep_ + delivered, kMaxBatch);  // only its size up to kMaxBatch matters
}

// How many completions the next sleep should wait for: as many as came since the last
// one (the load is steady from one wake-up to the next), at most kMaxBatch, and at most a
// quarter of the sockets being read: a batch that needs most of the clients to answer
// holds their replies back, and the clients wait on us (lock-step). A lone client: 0.
unsigned UringBackend::batch_size() const noexcept {
  if (!batch_wait_us_) return 0;
  return static_cast<unsigned>(std::min<std::size_t>(since_sleep_, streams_armed_ / 4));  // since_sleep_ <= kMaxBatch
}

// Sleeps until `want` completions are there, or batch_wait has passed and at least one
// is, or `timeout` ends (IORING_ENTER_EXT_ARG with min_wait_usec). Called by poll() right
// after a submit that found nothing done. Why (bench/RESULTS.md, "batched waits"): each
// wake-up is a context switch, which on this VM costs more than several requests, and a
// thread woken for one completion often spins on the socket lock the waking CPU still
// holds (perf: native_queued_spin_lock_slowpath under lock_sock_nested, tcp_recvmsg,
// io_recv, __io_run_local_work).
int UringBackend::submit_and_wait_batch(std::optional<std::chrono::nanoseconds> timeout, unsigned want) {
  using std::chrono::nanoseconds;
  const nanoseconds limit = timeout ? *timeout : std::chrono::hours(1);  // min_wait needs one
  const auto min_wait_us = std::min<nanoseconds::rep>(batch_wait_us_, limit.count() / 1000);
  // Without an overall limit, the kernel would wake at min_wait even with nothing done.
  __kernel_timespec ts{};
  ts.tv_sec = limit.count() / 1'000'000'000;
  ts.tv_nsec = limit.count() % 1'000'000'000;
  // io_uring_getevents_arg; liburing before 2.8 calls min_wait_usec "pad".
  struct {
    __u64 sigmask;
    __u32 sigmask_sz;
    __u32 min_wait_usec;
    __u64 ts;
  } arg{0, 0, static_cast<__u32>(min_wait_us), reinterpret_cast<__u64>(&ts)};
  static_assert(sizeof arg == sizeof(io_uring_getevents_arg));
  // liburing 2.3 has no call that takes min_wait_usec, so we enter the kernel ourselves.
  // poll() submitted everything just before; what the kernel may have left of it is
  // between the published tail and its head.
  const unsigned to_submit = IO_URING_READ_ONCE(*ring_.sq.ktail) - IO_URING_READ_ONCE(*ring_.sq.khead);
  return io_uring_enter2(static_cast<unsigned>(ring_.ring_fd), to_submit, min_wait_us ? want : 1,
                         IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, reinterpret_cast<sigset_t*>(&arg),
                         sizeof arg);
}

unsigned UringBackend::reap() {
  unsigned reaped = 0;
  for (;;) {
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      const __u64 data = cqe->user_data;
      if ((data & ~probe_tag) == 0 || data == LIBURING_UDATA_TIMEOUT) continue;  // ignored, probe_tag
      if (data & 1) {
        on_socket_entered(static_cast<int>(data >> 1), cqe->res);
        continue;
      }
      auto* op = reinterpret_cast<Operation*>(data);
      if (op->backend_state == stream_multishot) {
        on_stream_completion(*static_cast<RecvStream*>(op->ptr2), *cqe);
        continue;
      }
      if (op->code == OpCode::read_at && cqe->res == -EAGAIN && op->backend_state != read_retried &&
          !shutting_down_ && retry_read_blocking(*op))
        continue;
      if (op->backend_state == awaiting_room) {
        if (cqe->res > 0) {
          retry_send_file(*op);
          continue;
        }
        op->backend_state = 0;  // cancelled (deadline, shutdown): reported as such below
      }
      std::uint32_t flags = 0;
      if (cqe->flags & IORING_CQE_F_MORE) flags |= completion_more;
      else if (op != &wake_op_) --in_flight_;
      // POLL_ADD reports the poll mask; poll_read promises 0.
      const int res = op->code == OpCode::poll_read && cqe->res > 0 ? 0 : cqe->res;
      op->on_complete(*op, res, flags);
    }
    finish_fill();
    io_uring_cq_advance(&ring_, seen);
    reaped += seen;
    if (recv_recycled_) {
      io_uring_buf_ring_advance(recv_ring_, static_cast<int>(recv_recycled_));
      recv_recycled_ = 0;
    }
    // Completions the kernel could not fit in the CQ wait in its overflow list (we never
    // drop them: IORING_FEAT_NODROP); flush them in now rather than stalling.
    if (!(IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_CQ_OVERFLOW)) return reaped;
    ++counters_.completion_overflows;
    io_uring_get_events(&ring_);
  }
}

}  // namespace hellepoll::detail
