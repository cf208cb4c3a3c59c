// floor_uring: the least work an io_uring HTTP/1.1 server can do for the hello
// workloads, using everything the runtime is meant to use: a SINGLE_ISSUER|DEFER_TASKRUN
// ring (kernel 6.1+; it drops flags on EINVAL), multishot accept, multishot recv into a
// provided buffer ring (6.0+), and one send per batch of canned replies. No parsing:
// each received piece is scanned for "\r\n\r\n". Under load it sleeps for batches of
// completions as the runtime does (min_wait_usec, kernel 6.12+; see batched_wait). The
// "floor" that bench/run measures hellepoll's io_uring backend against.
//
//   build/bench/bench/floor_uring --port 8080      (SIGTERM or SIGINT stops it)
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <vector>

#include "floor_common.hpp"

namespace {

using namespace floor_server;

constexpr std::size_t kBatch = 64;          // replies per send from the canned buffer
constexpr unsigned kBufCount = 4096;        // provided buffers (a power of two)
constexpr unsigned kBufSize = 2048;         // bytes each
constexpr unsigned short kBufGroup = 0;

enum Kind : std::uint64_t { kAccept = 1, kRecv = 2, kSend = 3, kSignal = 4, kClose = 5 };
std::uint64_t tag(Kind k, int fd) { return (static_cast<std::uint64_t>(k) << 32) | static_cast<std::uint32_t>(fd); }

struct Canned {
  std::string bytes;
  std::size_t unit;
  bool closes;
  explicit Canned(std::string_view reply) : unit(reply.size()), closes(reply == kCloseReply) {
    for (std::size_t i = 0; i <= kBatch; ++i) bytes.append(reply);
  }
};

struct Conn {
  RequestEnds ends;
  const Canned* canned = nullptr;
  std::uint64_t owed = 0;  // reply bytes not yet sent (including the send in flight)
  std::size_t offset = 0;  // where in the reply the next unsent byte is
  bool open = false;
  bool recv_armed = false;
  bool send_inflight = false;
  bool done = false;  // EOF or error seen: close once nothing is in flight or owed
};

constexpr unsigned kMaxBatch = 16;         // as the runtime's batched waits
constexpr unsigned kBatchWaitUs = 200;
constexpr unsigned kFeatMinTimeout = 1u << 15;  // IORING_FEAT_MIN_TIMEOUT

io_uring g_ring;
bool g_min_wait = false;  // the kernel reads min_wait_usec
std::size_t g_open = 0;   // connections open
io_uring_buf_ring* g_bufs = nullptr;
char* g_buf_mem = nullptr;
int g_returned = 0;  // buffers given back since the last advance
std::vector<Conn> g_conns;

io_uring_sqe* sqe() {
  for (;;) {
    if (io_uring_sqe* s = io_uring_get_sqe(&g_ring)) return s;
    io_uring_submit(&g_ring);  // a full SQ is expected under load: flush and retry
  }
}

void arm_accept(int lfd) {
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, lfd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, tag(kAccept, lfd));
}

void arm_recv(int fd, Conn& c) {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kBufGroup;
  io_uring_sqe_set_data64(s, tag(kRecv, fd));
  c.recv_armed = true;
}

void send_owed(int fd, Conn& c) {
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(c.owed, kBatch * c.canned->unit));
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, fd, c.canned->bytes.data() + c.offset, n, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, tag(kSend, fd));
  c.send_inflight = true;
}

void give_back(unsigned short bid) {
  io_uring_buf_ring_add(g_bufs, g_buf_mem + static_cast<std::size_t>(bid) * kBufSize, kBufSize, bid,
                        io_uring_buf_ring_mask(kBufCount), g_returned++);
}

void maybe_close(int fd, Conn& c) {
  if (!c.done || c.recv_armed || c.send_inflight || c.owed > 0) return;
  c = Conn{};
  --g_open;
  io_uring_sqe* s = sqe();
  io_uring_prep_close(s, fd);
  io_uring_sqe_set_data64(s, tag(kClose, fd));
}

// Ends a connection whose send failed: shutdown() makes the armed recv finish with 0.
void fail(int fd, Conn& c) {
  c.done = true;
  c.owed = 0;
  if (c.recv_armed) shutdown(fd, SHUT_RDWR);
  maybe_close(fd, c);
}

unsigned setup_ring() {
  // The flag ladder of DESIGN.md: the best first, dropping the newest on EINVAL.
  const unsigned ladder[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE,
      IORING_SETUP_CQSIZE,
  };
  for (unsigned flags : ladder) {
    io_uring_params p{};
    p.flags = flags;
    p.cq_entries = 16384;  // several times the SQ: the CQ must never overflow
    int rc = io_uring_queue_init_params(4096, &g_ring, &p);
    if (rc == 0) {
      g_min_wait = p.features & kFeatMinTimeout;
      return flags;
    }
    if (rc != -EINVAL) {
      std::fprintf(stderr, "floor_uring: io_uring_setup: %s\n", std::strerror(-rc));
      std::exit(1);
    }
  }
  std::fprintf(stderr, "floor_uring: io_uring_setup refused every flag set\n");
  std::exit(1);
}

void setup_buffers() {
  std::size_t ring_bytes = kBufCount * sizeof(io_uring_buf);
  void* r = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  g_buf_mem = static_cast<char*>(
      mmap(nullptr, std::size_t{kBufCount} * kBufSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (r == MAP_FAILED || g_buf_mem == MAP_FAILED) {
    std::perror("floor_uring: mmap");
    std::exit(1);
  }
  g_bufs = static_cast<io_uring_buf_ring*>(r);
  io_uring_buf_ring_init(g_bufs);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(g_bufs);
  reg.ring_entries = kBufCount;
  reg.bgid = kBufGroup;
  int rc = io_uring_register_buf_ring(&g_ring, &reg, 0);
  if (rc < 0) {
    std::fprintf(stderr, "floor_uring: register_buf_ring (needs kernel 5.19+): %s\n", std::strerror(-rc));
    std::exit(1);
  }
  for (unsigned i = 0; i < kBufCount; ++i) give_back(static_cast<unsigned short>(i));
  io_uring_buf_ring_advance(g_bufs, g_returned);
  g_returned = 0;
}

// Sleeps until `want` completions are there, or kBatchWaitUs has passed and one is (the
// runtime's batched wait, UringBackend::submit_and_wait_batch): called right after a
// submit that found nothing done.
int batched_wait(unsigned want) {
  __kernel_timespec ts{3600, 0};  // min_wait needs an overall limit to keep sleeping after it
  struct {
    __u64 sigmask;
    __u32 sigmask_sz;
    __u32 min_wait_usec;  // "pad" in liburing before 2.8
    __u64 ts;
  } arg{0, 0, kBatchWaitUs, reinterpret_cast<__u64>(&ts)};
  static_assert(sizeof arg == sizeof(io_uring_getevents_arg));
  const unsigned to_submit = IO_URING_READ_ONCE(*g_ring.sq.ktail) - IO_URING_READ_ONCE(*g_ring.sq.khead);
  return io_uring_enter2(static_cast<unsigned>(g_ring.ring_fd), to_submit, want,
                         IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, reinterpret_cast<sigset_t*>(&arg), sizeof arg);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = parse_flags(argc, argv, "floor_uring");
  if (flags.exit_code >= 0) return flags.exit_code;
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0) return 1;

  unsigned ring_flags = setup_ring();
  setup_buffers();
  // Blocking socket: io_uring only (a non-blocking listener makes accept spuriously EAGAIN).
  int lfd = listen_on(flags.port, "floor_uring", false);
  if (lfd < 0) return 1;
  std::fprintf(stderr, "floor_uring: ring flags %s%s\n",
               (ring_flags & IORING_SETUP_DEFER_TASKRUN) ? "SINGLE_ISSUER|DEFER_TASKRUN|CQSIZE"
               : (ring_flags & IORING_SETUP_COOP_TASKRUN) ? "COOP_TASKRUN|CQSIZE"
                                                          : "CQSIZE",
               g_min_wait ? "; batched waits up to 200 us" : "");

  arm_accept(lfd);
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_add(s, sfd, POLLIN);
  io_uring_sqe_set_data64(s, tag(kSignal, sfd));

  const Canned keep(kReply), closing(kCloseReply);
  unsigned since_sleep = 0;  // completions since the last wait that could sleep
  for (;;) {
    // The runtime's rule: wait for as many as came since the last sleep, at most 16 and at
    // most a quarter of the connections; first take what is done without sleeping.
    const unsigned want = g_min_wait ? static_cast<unsigned>(std::min<std::size_t>(since_sleep, g_open / 4)) : 0;
    int rc;
    if (want > 1) {
      rc = io_uring_submit_and_get_events(&g_ring);
      if (rc >= 0 && io_uring_cq_ready(&g_ring) == 0) {
        since_sleep = 0;
        rc = batched_wait(want);
      }
    } else {
      since_sleep = 0;
      rc = io_uring_submit_and_wait(&g_ring, 1);
    }
    if (rc == -ETIME) rc = 0;
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      std::fprintf(stderr, "floor_uring: submit_and_wait: %s\n", std::strerror(-rc));
      return 1;
    }
    unsigned head = 0, seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&g_ring, head, cqe) {
      ++seen;
      const std::uint64_t data = io_uring_cqe_get_data64(cqe);
      const int fd = static_cast<int>(data & 0xffffffffu);
      const int res = cqe->res;
      const bool more = cqe->flags & IORING_CQE_F_MORE;
      switch (static_cast<Kind>(data >> 32)) {
        case kSignal:
          return 0;
        case kClose:
          break;
        case kAccept: {
          if (res >= 0) {
            set_nodelay(res);
            if (static_cast<std::size_t>(res) >= g_conns.size()) g_conns.resize(static_cast<std::size_t>(res) * 2 + 64);
            Conn& c = g_conns[res];
            c = Conn{};
            c.open = true;
            ++g_open;
            c.canned = &keep;
            arm_recv(res, c);
          }
          if (!more) arm_accept(fd);
          break;
        }
        case kRecv: {
          Conn& c = g_conns[fd];
          if (cqe->flags & IORING_CQE_F_BUFFER) {
            unsigned short bid = static_cast<unsigned short>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
            if (res > 0) {
              std::uint32_t ends = c.ends.feed(g_buf_mem + std::size_t{bid} * kBufSize, static_cast<std::size_t>(res));
              if (ends) {
                if (c.owed == 0) {
                  c.canned = c.ends.close ? &closing : &keep;
                  c.offset = 0;
                }
                c.owed += static_cast<std::uint64_t>(ends) * c.canned->unit;
                if (!c.send_inflight) send_owed(fd, c);
              }
            }
            give_back(bid);  // as soon as its bytes are consumed
          }
          if (more) break;
          c.recv_armed = false;
          if (res > 0 || res == -ENOBUFS) {
            if (!c.done) arm_recv(fd, c);  // ENOBUFS is not fatal: buffers are back, re-arm
          } else {
            c.done = true;  // EOF (the client closed: so do we) or an error
          }
          maybe_close(fd, c);
          break;
        }
        case kSend: {
          Conn& c = g_conns[fd];
          c.send_inflight = false;
          if (res < 0) {
            fail(fd, c);
            break;
          }
          c.owed -= static_cast<std::uint64_t>(res);
          c.offset = (c.offset + static_cast<std::size_t>(res)) % c.canned->unit;
          if (c.owed > 0) {
            send_owed(fd, c);  // a client that half-closed still gets its replies
          } else if (c.canned->closes && !c.done) {
            // After a "Connection: close" reply the server sends its FIN first, as servers
            // do. A plain shutdown(2), not IORING_OP_SHUTDOWN: that op runs later on an
            // io-wq thread and, raced with the close and an accept that reuses the fd
            // number, measured as wrk read errors. The armed recv ends when the client
            // closes; the close follows.
            c.done = true;
            shutdown(fd, SHUT_WR);
          }
          maybe_close(fd, c);
          break;
        }
      }
    }
    io_uring_cq_advance(&g_ring, seen);
    since_sleep = std::min(since_sleep + seen, kMaxBatch);
    if (g_returned) {
      io_uring_buf_ring_advance(g_bufs, g_returned);
      g_returned = 0;
    }
  }
}
