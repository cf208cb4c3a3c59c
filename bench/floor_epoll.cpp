// floor_epoll: the least work an epoll HTTP/1.1 server can do for the hello workloads.
// Single-threaded, level-triggered epoll, keep-alive, pipelining, no parsing: each read
// is scanned for "\r\n\r\n" and answered with one write of that many canned replies;
// a request with "Connection: close" gets a reply saying so, then the socket is closed.
// It is the "floor" bench/run measures hellepoll's epoll backend against.
//
//   build/bench/bench/floor_epoll --port 8080      (SIGTERM or SIGINT stops it)
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <vector>

#include "floor_common.hpp"

namespace {

using namespace floor_server;

constexpr std::size_t kBatch = 64;  // replies per write from the canned buffer

// kBatch + 1 copies of a reply back to back: any suffix of a partly written stream of
// replies starts at some offset < reply size and runs contiguously from there.
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
  std::uint64_t owed = 0;  // reply bytes not yet written
  std::size_t offset = 0;  // where in the reply the next byte to write is
  bool want_out = false;
  bool open = false;
};

int g_epoll = -1;
std::vector<Conn> g_conns;

void close_conn(int fd) {
  g_conns[fd] = Conn{};
  close(fd);  // also removes it from the epoll set
}

// Writes what is owed; false when the connection failed and was closed.
bool flush(int fd, Conn& c) {
  while (c.owed > 0) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(c.owed, kBatch * c.canned->unit));
    ssize_t w = send(fd, c.canned->bytes.data() + c.offset, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (!c.want_out) {
          epoll_event ev{EPOLLIN | EPOLLOUT, {.fd = fd}};
          epoll_ctl(g_epoll, EPOLL_CTL_MOD, fd, &ev);
          c.want_out = true;
        }
        return true;
      }
      close_conn(fd);
      return false;
    }
    c.owed -= static_cast<std::uint64_t>(w);
    c.offset = (c.offset + static_cast<std::size_t>(w)) % c.canned->unit;
  }
  if (c.canned->closes) {
    close_conn(fd);
    return false;
  }
  if (c.want_out) {
    epoll_event ev{EPOLLIN, {.fd = fd}};
    epoll_ctl(g_epoll, EPOLL_CTL_MOD, fd, &ev);
    c.want_out = false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = parse_flags(argc, argv, "floor_epoll");
  if (flags.exit_code >= 0) return flags.exit_code;
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  int lfd = listen_on(flags.port, "floor_epoll", true);
  if (lfd < 0 || sfd < 0) return 1;
  g_epoll = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{EPOLLIN, {.fd = lfd}};
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, lfd, &ev);
  ev = {EPOLLIN, {.fd = sfd}};
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, sfd, &ev);

  const Canned keep(kReply), closing(kCloseReply);
  static char buf[64 * 1024];
  std::vector<epoll_event> events(512);
  for (;;) {
    int n = epoll_wait(g_epoll, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("floor_epoll: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == sfd) return 0;
      if (fd == lfd) {
        for (;;) {
          int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;  // EAGAIN, or a transient error: the next event retries
          set_nodelay(c);
          if (static_cast<std::size_t>(c) >= g_conns.size()) g_conns.resize(static_cast<std::size_t>(c) * 2 + 64);
          g_conns[c] = Conn{};
          g_conns[c].open = true;
          g_conns[c].canned = &keep;
          epoll_event cev{EPOLLIN, {.fd = c}};
          epoll_ctl(g_epoll, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      Conn& c = g_conns[fd];
      if (!c.open) continue;
      if (events[i].events & EPOLLOUT) {
        if (!flush(fd, c)) continue;
      }
      if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      // Level-triggered: one read per wake-up; anything left wakes us again.
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        close_conn(fd);  // the client closed (or failed): so do we
        continue;
      }
      if (r < 0) continue;
      std::uint32_t ends = c.ends.feed(buf, static_cast<std::size_t>(r));
      if (ends == 0) continue;
      if (c.owed == 0) {
        c.canned = c.ends.close ? &closing : &keep;
        c.offset = 0;
      }
      c.owed += static_cast<std::uint64_t>(ends) * c.canned->unit;
      if (!c.want_out) flush(fd, c);
    }
  }
}
