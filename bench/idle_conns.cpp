// idle_conns: what an idle kept-alive connection costs a server. Opens N connections to
// 127.0.0.1:PORT, sends one GET on each and reads the reply, then holds them all idle and
// reports the server's resident-memory growth per connection (VmRSS of --server-pid,
// before and after).
//
// Source addresses 127.0.0.2, .3, ... (bind() with IP_BIND_ADDRESS_NO_PORT before
// connect) keep N far from the ~28,000 ephemeral ports one address pair has. When N is
// more than RLIMIT_NOFILE allows one process, the connections are shared out over
// several worker processes.
//
//   build/bench/bench/idle_conns --port 8080 --conns 50000 --server-pid $(pidof hello)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Options {
  unsigned port = 8080;
  std::size_t conns = 50000;
  unsigned sources = 8;
  long server_pid = 0;
  double timeout_s = 120;
  double hold_s = 0;
  double settle_s = 3;  // idle time before the RSS sample: servers may free buffers of idle connections
  std::size_t parallel = 512;  // connections being set up at once per worker
};

long rss_kib(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

std::size_t nofile_capacity() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  getrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur > 64 ? static_cast<std::size_t>(r.rlim_cur) - 64 : 1;
}

struct Pending {
  int fd = -1;
  std::string in;
  bool sent = false;
};

// True once `in` holds a whole response (head plus Content-Length bytes of body).
bool complete(const std::string& in) {
  auto end = in.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::size_t len = 0;
  std::string head = in.substr(0, end);
  for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (auto p = head.find("content-length:"); p != std::string::npos) len = std::strtoul(head.c_str() + p + 15, nullptr, 10);
  return in.size() >= end + 4 + len;
}

// Opens `count` connections, each with one request answered; returns the open fds.
// Failures are counted in `failed`; gives up at `deadline`.
std::vector<int> open_idle(const Options& o, std::size_t count, unsigned first_source, std::size_t& failed,
                           std::chrono::steady_clock::time_point deadline) {
  static const char kRequest[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: idle_conns\r\n\r\n";
  std::vector<int> held;
  held.reserve(count);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Pending> slots(o.parallel);
  std::vector<std::size_t> free_slots;
  for (std::size_t i = 0; i < slots.size(); ++i) free_slots.push_back(slots.size() - 1 - i);
  std::size_t started = 0, in_progress = 0;
  unsigned source = first_source;

  auto finish = [&](std::size_t slot, bool ok) {
    Pending& p = slots[slot];
    epoll_ctl(ep, EPOLL_CTL_DEL, p.fd, nullptr);
    if (ok) held.push_back(p.fd);
    else {
      close(p.fd);
      ++failed;
    }
    p = Pending{};
    free_slots.push_back(slot);
    --in_progress;
  };

  std::vector<epoll_event> events(256);
  while (held.size() + failed < count) {
    while (!free_slots.empty() && started < count) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        std::fprintf(stderr, "idle_conns: socket: %s\n", std::strerror(errno));
        ++failed;
        ++started;
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + source);  // 127.0.0.2 onward
      source = (source + 1) % o.sources;
      sockaddr_in dst{};
      dst.sin_family = AF_INET;
      dst.sin_port = htons(static_cast<std::uint16_t>(o.port));
      dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) < 0 ||
          (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0 && errno != EINPROGRESS)) {
        std::fprintf(stderr, "idle_conns: connect: %s\n", std::strerror(errno));
        close(fd);
        ++failed;
        ++started;
        continue;
      }
      std::size_t slot = free_slots.back();
      free_slots.pop_back();
      slots[slot].fd = fd;
      epoll_event ev{EPOLLOUT | EPOLLIN, {.u64 = slot}};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      ++started;
      ++in_progress;
    }
    if (in_progress == 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "idle_conns: timed out with %zu connections still being set up\n", in_progress);
      for (std::size_t s = 0; s < slots.size(); ++s)
        if (slots[s].fd >= 0) finish(s, false);
      break;
    }
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      std::size_t slot = events[i].data.u64;
      Pending& p = slots[slot];
      if (p.fd < 0) continue;
      if (!p.sent && (events[i].events & EPOLLOUT)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || send(p.fd, kRequest, sizeof kRequest - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof kRequest - 1)) {
          finish(slot, false);
          continue;
        }
        p.sent = true;
        epoll_event ev{EPOLLIN, {.u64 = slot}};
        epoll_ctl(ep, EPOLL_CTL_MOD, p.fd, &ev);
        continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        char buf[4096];
        ssize_t r = recv(p.fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) {
          finish(slot, false);
          continue;
        }
        p.in.append(buf, static_cast<std::size_t>(r));
        if (complete(p.in)) finish(slot, p.in.compare(0, 12, "HTTP/1.1 200") == 0);
      }
    }
  }
  close(ep);
  return held;
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--port" && (v = next())) o.port = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (a == "--conns" && (v = next())) o.conns = std::strtoull(v, nullptr, 10);
    else if (a == "--sources" && (v = next())) o.sources = std::max(1u, static_cast<unsigned>(std::strtoul(v, nullptr, 10)));
    else if (a == "--server-pid" && (v = next())) o.server_pid = std::strtol(v, nullptr, 10);
    else if (a == "--timeout" && (v = next())) o.timeout_s = std::strtod(v, nullptr);
    else if (a == "--hold" && (v = next())) o.hold_s = std::strtod(v, nullptr);
    else if (a == "--settle" && (v = next())) o.settle_s = std::strtod(v, nullptr);
    else return false;
  }
  return o.port > 0 && o.port < 65536 && o.conns > 0 && o.sources <= 250;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: idle_conns --port P [--conns N] [--server-pid PID] [--sources K] [--timeout S]\n"
                 "                  [--settle S] [--hold S]\n"
                 "  opens N keep-alive connections to 127.0.0.1:P from 127.0.0.2..(K+1), one GET on each,\n"
                 "  leaves them idle for --settle S seconds (default 3), prints the server's RSS per\n"
                 "  connection, then holds them --hold S more seconds (default 0)\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const std::size_t cap = nofile_capacity();
  const std::size_t workers = (o.conns + cap - 1) / cap;
  const std::size_t share = (o.conns + workers - 1) / workers;
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(o.timeout_s));

  // Warm the server (its first connections grow pools and heaps once), then the baseline.
  {
    std::size_t failed = 0;
    auto warm = open_idle(o, std::min<std::size_t>(64, o.conns), 0, failed, deadline);
    for (int fd : warm) close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  const long base = o.server_pid ? rss_kib(o.server_pid) : -1;

  // Each worker opens its share and reports "ok failed" on the pipe, then waits to die.
  std::vector<pid_t> pids;
  std::vector<int> pipes;
  for (std::size_t w = 0; w < workers; ++w) {
    int fds[2];
    if (pipe(fds) < 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // however the parent ends, the connections go too
      close(fds[0]);
      std::size_t count = std::min(share, o.conns - std::min(o.conns, w * share));
      std::size_t failed = 0;
      auto held = open_idle(o, count, static_cast<unsigned>(w % o.sources), failed, deadline);
      std::string msg = std::to_string(held.size()) + " " + std::to_string(failed) + "\n";
      if (write(fds[1], msg.data(), msg.size()) < 0) _exit(1);
      close(fds[1]);
      pause();  // the parent kills us; our fds close with us
      _exit(0);
    }
    close(fds[1]);
    pids.push_back(pid);
    pipes.push_back(fds[0]);
  }
  std::size_t ok = 0, failed = 0;
  for (int fd : pipes) {
    char buf[64] = {};
    ssize_t r = read(fd, buf, sizeof buf - 1);
    if (r > 0) {
      char* end = nullptr;
      ok += std::strtoull(buf, &end, 10);
      failed += std::strtoull(end, nullptr, 10);
    }
    close(fd);
  }
  const double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const long busy = o.server_pid ? rss_kib(o.server_pid) : -1;  // just after each answered its request
  std::this_thread::sleep_for(std::chrono::duration<double>(o.settle_s));  // now they have been idle a while
  const long with = o.server_pid ? rss_kib(o.server_pid) : -1;

  std::printf("idle_conns: %zu of %zu connections open and idle (%zu failed) after %.1f s, %zu process(es), "
              "%u source addresses\n",
              ok, o.conns, failed, setup_s, workers, o.sources);
  if (o.server_pid) {
    const double per = ok ? static_cast<double>(with - base) * 1024.0 / static_cast<double>(ok) : 0.0;
    const double per_busy = ok ? static_cast<double>(busy - base) * 1024.0 / static_cast<double>(ok) : 0.0;
    std::printf("idle_conns: server pid %ld RSS %ld KiB -> %ld KiB after %.0f s idle: %.0f bytes per connection "
                "(%.0f just after their requests)\n",
                o.server_pid, base, with, o.settle_s, per, per_busy);
    std::printf("RESULT conns=%zu failed=%zu rss_base_kib=%ld rss_kib=%ld bytes_per_conn=%.1f "
                "bytes_per_conn_just_after=%.1f\n",
                ok, failed, base, with, per, per_busy);
  }
  std::printf("idle_conns: rerun: %s --port %u --conns %zu --server-pid PID\n", argv[0], o.port, o.conns);
  std::fflush(stdout);
  if (o.hold_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(o.hold_s));
  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  return failed == 0 ? 0 : 1;
}
