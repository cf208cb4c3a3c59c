// Multishot receives. A stream socket read more than once gets one IORING_OP_RECV with
// IORING_RECV_MULTISHOT for the rest of its life: the kernel keeps the socket's poll
// armed and posts one completion per arrival, the bytes in a buffer it took from our
// provided-buffer ring. We copy them straight into the recv that is waiting (or into a
// stash when nobody is reading yet) and give the buffer back at once, so the ring only
// has to cover one batch of completions. Against a recv SQE per call this saves, per
// read, the submission, the failed first attempt, arming the poll (io_arm_apoll) and
// the file lookup.
//
// The rest of hellepoll sees recv and poll_read behave as before; a recv may now
// complete at once, from the stash. The bytes of one socket arrive in order: only one
// reader at a time goes through the stream (a second, concurrent one goes out alone).
//
// Backpressure: each multishot is armed (with an empty stash) for at most stash_limit
// bytes (Linux 6.17+: IORING_OP_RECV's optlen, the "multishot total length"); after
// that the kernel ends it and the socket buffer and TCP's window hold the rest, as with
// plain recv, until a recv finds the stash empty and re-arms. So a connection that is not
// read holds at most stash_limit plus one buffer. Older kernels refuse the limit (EINVAL;
// asked at set-up with the multishot receive itself, which kernels before 6.0 refuse:
// probe_multishot_recv). There a stash that reaches stash_limit cancels the multishot, and
// what the kernel received for it before the cancel lands (one run of its task work:
// hundreds of KiB; on 6.0, whose ring runs task work at any kernel entry, up to the whole
// buffer ring) is kept too.
//
// Out of buffers: the kernel ends the multishot with ENOBUFS; it is re-armed when a
// reader waits (the buffers are back by then), and counted in recv_buffer_shortages.
//
// Idle sockets: a poll_read (what a long-idle HTTP connection waits with) parks the
// stream: the multishot is cancelled and, if nothing arrived meanwhile, the poll goes
// out alone and the stream is retired, so an idle connection holds neither a stream
// nor a kernel request. Its next recv arms a new one.
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "hellepoll/log.hpp"
#include "syscall_ops.hpp"
#include "uring_backend.hpp"

namespace hellepoll::detail {
namespace {

constexpr int kRecvGroup = 0;           // our one buffer group id
// RecvStream::ended, and wake_waiter's "read the stash": nothing to report. Never a
// result: it was 1 once, and a one-byte read handed its byte over, then overwrote it with
// the stash's next (wake_waiter took the count 1 for "read the stash").
constexpr int no_result = std::numeric_limits<int>::min();
constexpr std::size_t stash_limit = 64 * 1024;
// A stash that held more than this gives its memory back once emptied: one large arrival
// nobody was reading must not cost its connection that much for the rest of its life.
constexpr std::size_t stash_kept = 16 * 1024;
constexpr std::size_t spare_streams = 256;

}  // namespace

struct UringBackend::RecvStream {
  Operation op;                 // the multishot receive; op.ptr2 = this
  Operation* waiter = nullptr;  // a recv or poll_read waiting for bytes
  std::string stash;            // received, not read yet
  int ended = no_result;        // how the multishot ended, not yet reported: 0 EOF, -errno
  std::size_t handed = 0;       // bytes this reap put in the waiting recv's buffer (filling_)
  bool armed = false;
  bool cancelling = false;  // we asked the kernel to end it (backpressure, forget_fd)
  bool orphaned = false;    // its fd was forgotten: retire at the final completion
  bool parking = false;     // cancelled for a poll_read: retire it if it ends empty
  std::size_t orphan_index = 0;
};

void UringBackend::setup_recv_buffers(const BackendOptions& options) {
  if (options.recv_buffers == 0 || options.recv_buffer_size == 0) return;
  const unsigned count = std::bit_ceil(std::min(options.recv_buffers, 32768u));  // the kernel's maximum
  const std::size_t ring_bytes = count * sizeof(io_uring_buf);
  const std::size_t memory_bytes = std::size_t{count} * options.recv_buffer_size;
  void* ring = ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* memory = ::mmap(nullptr, memory_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int rc = -errno;
  if (ring != MAP_FAILED && memory != MAP_FAILED) {
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(ring);
    reg.ring_entries = count;
    reg.bgid = kRecvGroup;
    rc = io_uring_register_buf_ring(&ring_, &reg, 0);
  }
  if (rc < 0) {
    // Kernels before 5.19 have no buffer rings: one recv SQE per call, as before.
    log(LogLevel::info, "io_uring: no provided-buffer ring ({}); one recv per read", std::strerror(-rc));
    if (ring != MAP_FAILED) ::munmap(ring, ring_bytes);
    if (memory != MAP_FAILED) ::munmap(memory, memory_bytes);
    return;
  }
  recv_ring_ = static_cast<io_uring_buf_ring*>(ring);
  recv_memory_ = static_cast<char*>(memory);
  recv_count_ = count;
  recv_size_ = options.recv_buffer_size;
  io_uring_buf_ring_init(recv_ring_);
  for (unsigned i = 0; i < count; ++i)
    io_uring_buf_ring_add(recv_ring_, recv_memory_ + std::size_t{i} * recv_size_, recv_size_,
                          static_cast<unsigned short>(i), io_uring_buf_ring_mask(count), static_cast<int>(i));
  io_uring_buf_ring_advance(recv_ring_, static_cast<int>(count));
  probe_multishot_recv();
}

// Prepares a multishot receive into the buffer ring, with our byte limit if `limited`.
// The as-kernel test hook makes this kernel refuse what an older one would.
void UringBackend::prepare_multishot_recv(io_uring_sqe* sqe, int fd, bool limited) noexcept {
  const bool refused = uring_as_kernel.lacks(6, 0) || (limited && uring_as_kernel.lacks(6, 17));
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, refused ? MSG_WAITALL : 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kRecvGroup;
  // The limit is the SQE's optlen, which liburing 2.3's header (Debian 12) still calls
  // file_index: the same 32 bits.
  if (limited) sqe->file_index = static_cast<__u32>(stash_limit);
}

// Which multishot receive the kernel takes: with a byte limit (6.17+), without (6.0+), or
// none (5.19: one recv SQE per read). Asked once, at set-up, on a socketpair holding a
// byte, so that describe() says from the start what the thread will do. A kernel that
// takes the receive answers with the byte; it is then cancelled and its buffer given back.
void UringBackend::probe_multishot_recv() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    log(LogLevel::warn, "io_uring: cannot probe multishot receives (socketpair: {}); one recv per read",
        std::strerror(errno));
    return;
  }
  bool answered = false;  // the kernel took or refused a receive (else the probe gave up)
  for (const bool limited : {true, false}) {
    if (::write(sv[1], "x", 1) != 1) break;
    answered = false;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) break;
    prepare_multishot_recv(sqe, sv[0], limited);
    io_uring_sqe_set_data64(sqe, probe_tag);
    // Until the receive has ended, and the cancel sent for it (if any) has come back.
    bool taken = false, ended = false, cancel_sent = false, cancel_seen = false;
    while (!ended || cancel_sent != cancel_seen) {
      if (taken && !ended && !cancel_sent) {
        io_uring_sqe* c = io_uring_get_sqe(&ring_);
        if (!c) break;
        io_uring_prep_cancel64(c, probe_tag, 0);
        io_uring_sqe_set_data64(c, ignored);
        cancel_sent = true;
      }
      io_uring_cqe* cqe = nullptr;
      int rc;
      do rc = io_uring_submit_and_wait(&ring_, 1);
      while (rc == -EINTR);
      // Given up (never seen here): a completion of the receive that comes later is
      // ignored by reap() (probe_tag), and it ends at the latest when the pair is closed.
      if (rc < 0 || io_uring_peek_cqe(&ring_, &cqe) != 0) break;
      if (cqe->user_data == probe_tag) {
        answered = true;
        if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
          taken = true;
          give_back(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          io_uring_buf_ring_advance(recv_ring_, static_cast<int>(std::exchange(recv_recycled_, 0)));
        }
        ended = !(cqe->flags & IORING_CQE_F_MORE);
      } else if (cqe->user_data == ignored) {
        cancel_seen = true;
      }
      io_uring_cqe_seen(&ring_, cqe);
    }
    if (taken) {
      multishot_recv_ = true;
      multishot_limit_ = limited;
      break;
    }
    if (!answered) break;
  }
  ::close(sv[0]);
  ::close(sv[1]);
  // Said once per process, not once per thread: every thread's kernel is the same.
  static std::atomic<bool> said{false};
  if (multishot_recv_ && multishot_limit_) return;
  if (said.exchange(true)) return;
  if (!answered)
    log(LogLevel::warn, "io_uring: the multishot receive probe gave up; one recv per read");
  else if (!multishot_recv_)
    log(LogLevel::info, "io_uring: no multishot receive (EINVAL before Linux 6.0); one recv per read");
  else
    log(LogLevel::info, "io_uring: multishot receives take no byte limit (before Linux 6.17); an unread "
                        "connection may hold more than {} KiB", stash_limit / 1024);
}

// Puts buffer `bid` back in the ring, after those given back since the tail last moved;
// the caller moves the tail (reap(), once per batch).
void UringBackend::give_back(unsigned bid) noexcept {
  io_uring_buf_ring_add(recv_ring_, recv_memory_ + std::size_t{bid} * recv_size_, recv_size_,
                        static_cast<unsigned short>(bid), io_uring_buf_ring_mask(recv_count_),
                        static_cast<int>(recv_recycled_++));
}

void UringBackend::free_streams() noexcept {
  for (RecvStream*& st : streams_) delete std::exchange(st, nullptr);
  for (RecvStream* st : orphans_) delete st;
  for (RecvStream* st : spare_) delete st;
  orphans_.clear();
  spare_.clear();
  if (recv_ring_) ::munmap(recv_ring_, recv_count_ * sizeof(io_uring_buf));
  if (recv_memory_) ::munmap(recv_memory_, std::size_t{recv_count_} * recv_size_);
  recv_ring_ = nullptr;
  recv_memory_ = nullptr;
}

UringBackend::StreamTake UringBackend::take_stream_op(Operation& op, int& inline_result) {
  if (op.fd < 0 || (op.code == OpCode::recv && (op.flags != 0 || op.len == 0))) return StreamTake::not_mine;
  const auto fd = static_cast<std::size_t>(op.fd);
  if (fd >= streams_.size()) {
    if (op.code == OpCode::poll_read) return StreamTake::not_mine;
    const std::size_t size = std::max(fd + 1, streams_.size() * 2);
    streams_.resize(size);
    kinds_.resize(size);
  }
  RecvStream* st = streams_[fd];
  if (!st) {
    // A connection read once (Connection: close) should not pay for arming a multishot
    // and cancelling it again: its first recv goes out alone. Without a stream there is
    // nothing a poll could miss, so a poll goes out alone too. Only stream sockets get
    // one: the stash would merge a datagram or seqpacket socket's messages.
    FdKind& kind = kinds_[fd];
    if (op.code == OpCode::poll_read || !multishot_recv_ || kind == FdKind::other) return StreamTake::not_mine;
    if (kind == FdKind::unread) {
      kind = FdKind::read_once;
      return StreamTake::not_mine;
    }
    if (kind == FdKind::read_once) {
      kind = is_stream_socket(op.fd) ? FdKind::stream : FdKind::other;
      if (kind == FdKind::other) return StreamTake::not_mine;
      enter_socket(op.fd);  // read more than once: it will send more than once too
    }
    if (spare_.empty()) {
      st = new RecvStream;
    } else {
      st = spare_.back();
      spare_.pop_back();
    }
    st->op.code = OpCode::recv;
    st->op.backend_state = stream_multishot;
    st->op.fd = op.fd;
    st->op.ptr2 = st;
    streams_[fd] = st;
  }
  if (st->waiter) return StreamTake::not_mine;  // a second reader at once
  if (!st->stash.empty() || st->ended != no_result) {
    inline_result = op.code == OpCode::poll_read ? 0 : read_stash(*st, op);
    return StreamTake::completed;
  }
  if (op.code == OpCode::poll_read) {
    if (!st->armed) {
      streams_[fd] = nullptr;
      retire(*st);
      return StreamTake::not_mine;
    }
    st->parking = true;
    cancel_multishot(*st);
  } else if (!st->armed && !arm(*st)) {
    return StreamTake::not_mine;
  }
  st->waiter = &op;
  op.backend_state = stream_waiter;
  ++in_flight_;
  return StreamTake::waiting;
}

// Bytes for `op` (a recv) from the stash; with the stash empty, how the multishot ended
// (EOF is reported to every later recv, an error once).
int UringBackend::read_stash(RecvStream& st, Operation& op) noexcept {
  if (st.stash.empty()) {
    const int r = st.ended;
    if (r != 0) st.ended = no_result;
    return r;
  }
  const std::size_t n = std::min<std::size_t>(st.stash.size(), op.len);
  std::memcpy(op.ptr, st.stash.data(), n);
  st.stash.erase(0, n);
  if (st.stash.empty() && st.stash.capacity() > stash_kept) std::string().swap(st.stash);
  return static_cast<int>(n);
}

bool UringBackend::arm(RecvStream& st) {
  if (!multishot_recv_ || shutting_down_) return false;
  io_uring_sqe* sqe = next_sqe();
  if (!sqe) return false;
  // Armed only with an empty stash (a waiter means nothing is stashed), so this bounds it.
  prepare_multishot_recv(sqe, st.op.fd, multishot_limit_);
  io_uring_sqe_set_data(sqe, &st.op);
  st.armed = true;
  ++streams_armed_;
  return true;
}

void UringBackend::cancel_multishot(RecvStream& st) {
  if (!st.armed || st.cancelling) return;
  io_uring_sqe* sqe = next_sqe();
  if (!sqe) return;  // best effort, like cancel()
  io_uring_prep_cancel64(sqe, reinterpret_cast<__u64>(&st.op), 0);
  io_uring_sqe_set_data64(sqe, ignored);
  st.cancelling = true;
}

// Completes the parked reader: with `result`, or (no_result) with what the stream has.
void UringBackend::wake_waiter(RecvStream& st, int result) {
  Operation& w = *std::exchange(st.waiter, nullptr);
  w.backend_state = 0;
  --in_flight_;
  if (result == no_result) result = w.code == OpCode::poll_read ? 0 : read_stash(st, w);
  w.on_complete(w, result, 0);
}

// A burst of completions for one socket (a large request arriving) fills the waiting
// recv's buffer as far as it has room, and the recv is woken once, when the burst ends
// (finish_fill): the stash takes only what does not fit. Woken at the first piece, the
// recv left the rest of the burst to the stash, copied twice and kept in memory.
void UringBackend::deliver(RecvStream& st, const char* data, std::size_t n) {
  Operation* w = st.waiter;
  std::size_t direct = 0;
  if (w && w->code == OpCode::recv) {
    if (filling_ != &st) {
      finish_fill();
      filling_ = &st;
    }
    direct = std::min<std::size_t>(n, w->len - st.handed);
    std::memcpy(static_cast<char*>(w->ptr) + st.handed, data, direct);
    st.handed += direct;
    if (direct == n) return;
  }
  st.stash.append(data + direct, n - direct);
  counters_.largest_recv_stash = std::max<std::uint64_t>(counters_.largest_recv_stash, st.stash.size());
  if (w && w->code == OpCode::poll_read) wake_waiter(st, 0);
  else if (st.stash.size() >= stash_limit && !multishot_limit_) cancel_multishot(st);
}

void UringBackend::on_stream_completion(RecvStream& st, const io_uring_cqe& cqe) {
  if (cqe.res > 0 && (cqe.flags & IORING_CQE_F_BUFFER)) {
    const unsigned bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
    deliver(st, recv_memory_ + std::size_t{bid} * recv_size_, static_cast<std::size_t>(cqe.res));
    give_back(bid);  // at once; the ring's tail moves once per reap (see reap())
  }
  if (cqe.flags & IORING_CQE_F_MORE) return;

  // The multishot has ended.
  if (filling_ == &st) finish_fill();
  st.armed = false;
  --streams_armed_;
  const bool asked = std::exchange(st.cancelling, false);
  const bool parking = std::exchange(st.parking, false);
  if (cqe.res == -ENOBUFS) {
    ++counters_.recv_buffer_shortages;
  } else if (cqe.res <= 0 && !(cqe.res == -ECANCELED && asked)) {
    st.ended = cqe.res;  // EOF or an error, for the reader
  }
  if (st.orphaned) {
    if (st.waiter) wake_waiter(st, -ECANCELED);
    retire(st);
    return;
  }
  if (parking && st.stash.empty() && st.ended == no_result) {
    // Parked and nothing arrived: the stream goes, its waiter (the poll, or a recv that
    // came after the bytes that woke it) goes out alone.
    streams_[static_cast<std::size_t>(st.op.fd)] = nullptr;
    if (st.waiter) {
      if (shutting_down_) wake_waiter(st, -ECANCELED);
      else send_waiter_alone(st);
    }
    retire(st);
    return;
  }
  if (!st.waiter) return;
  if (st.ended != no_result || shutting_down_) {
    wake_waiter(st, shutting_down_ && st.ended == no_result ? -ECANCELED : no_result);
  } else if (!arm(st)) {
    send_waiter_alone(st);  // multishot refused
  }
}

// Wakes the recv that the completions reaped so far filled (see deliver), if any: when
// the next completion is another socket's, when its multishot ends, and when the reap ends.
void UringBackend::finish_fill() {
  if (RecvStream* st = std::exchange(filling_, nullptr)) wake_waiter(*st, static_cast<int>(std::exchange(st->handed, 0)));
}

// The parked reader goes out as a plain recv or poll SQE (still counted in in_flight_).
void UringBackend::send_waiter_alone(RecvStream& st) {
  Operation& w = *std::exchange(st.waiter, nullptr);
  w.backend_state = 0;
  queue_sqe(w);
}

bool UringBackend::cancel_stream_waiter(Operation& op) {
  if (op.backend_state != stream_waiter) return false;
  RecvStream* st = stream_of(op.fd);
  if (st && st->waiter != &op) st = nullptr;
  for (std::size_t i = 0; !st && i < orphans_.size(); ++i)
    if (orphans_[i]->waiter == &op) st = orphans_[i];
  if (!st) return false;
  // Only the wait ends; the multishot stays armed for the next recv.
  wake_waiter(*st, -ECANCELED);
  return true;
}

// Bytes the multishot brought that no recv took yet, or bytes still in the socket. A short
// read emptied the socket if it was a recv of its own or the multishot is still armed
// (it takes what comes); one that ended (its byte limit, ENOBUFS, a cancel) left the rest
// in the kernel.
bool UringBackend::input_waiting(int fd, bool after_short_read) const noexcept {
  const RecvStream* st = stream_of(fd);
  if (st && !st->stash.empty()) return true;
  if (after_short_read && (!st || st->armed)) return false;
  return kernel_input_waiting(fd);
}

// Returns true when it queued a cancel that must reach the kernel before the close.
bool UringBackend::forget_stream(int fd) noexcept {
  if (static_cast<std::size_t>(fd) >= streams_.size()) return false;
  kinds_[static_cast<std::size_t>(fd)] = FdKind::unread;
  RecvStream* st = std::exchange(streams_[static_cast<std::size_t>(fd)], nullptr);
  if (!st) return false;
  if (!st->armed) {
    retire(*st);
    return false;
  }
  // The kernel still holds the socket through the multishot: end it before the fd is
  // closed (its final completion retires the stream), or the close would not really
  // close the connection.
  st->orphaned = true;
  st->orphan_index = orphans_.size();
  orphans_.push_back(st);
  cancel_multishot(*st);
  return st->cancelling;
}

void UringBackend::retire(RecvStream& st) {
  if (st.orphaned) {
    orphans_[st.orphan_index] = orphans_.back();
    orphans_[st.orphan_index]->orphan_index = st.orphan_index;
    orphans_.pop_back();
  }
  if (spare_.size() >= spare_streams) {
    delete &st;
    return;
  }
  std::string().swap(st.stash);  // a spare keeps no memory (256 of them, for the process's life)
  st.ended = no_result;
  st.orphaned = st.parking = false;
  spare_.push_back(&st);
}

}  // namespace hellepoll::detail
