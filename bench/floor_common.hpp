// Shared by the two floor servers: the canned reply, the request-end counter, the flag
// parser and the listening socket. A floor server does the least an HTTP/1.1 server can
// do for the hello workloads (no parsing: count "\r\n\r\n", answer each with the same
// bytes), so its requests per CPU-second are the ceiling a real server is measured
// against on the same kernel.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace floor_server {

// The same size on the wire as a real server's reply (a fixed Date keeps it canned).
inline constexpr std::string_view kReply =
    "HTTP/1.1 200 OK\r\n"
    "Server: floor\r\n"
    "Date: Wed, 25 Nov 2026 00:00:00 GMT\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";

// Sent instead of kReply once a connection's client asked for "Connection: close"; the
// floor then closes after the reply, as servers do (and on the client's EOF, always).
// Waiting for the client to close first would leave TIME_WAIT on wrk's side and
// measured slower than the servers the floor is meant to bound.
inline constexpr std::string_view kCloseReply =
    "HTTP/1.1 200 OK\r\n"
    "Server: floor\r\n"
    "Date: Wed, 25 Nov 2026 00:00:00 GMT\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "Connection: close\r\n"
    "\r\n"
    "Hello, World!";

// Counts request ends ("\r\n\r\n") in a stream read in arbitrary pieces; `state` is how
// many bytes of the terminator the previous piece ended with.
struct RequestEnds {
  unsigned state = 0;
  bool close = false;  // sticky: a client that says close once will close

  std::uint32_t feed(const char* p, std::size_t n) noexcept {
    static constexpr char kEnd[4] = {'\r', '\n', '\r', '\n'};
    std::uint32_t ends = 0;
    for (std::size_t i = 0; i < n; ++i) {
      char c = p[i];
      if (c == kEnd[state]) {
        if (++state == 4) {
          ++ends;
          state = 0;
        }
      } else {
        state = c == '\r' ? 1 : 0;
      }
    }
    // One substring search per read, not parsing: a header split across two reads is
    // missed, which only costs the close workload one keep-alive round trip.
    if (!close && ends && memmem(p, n, "Connection: close", 17)) close = true;
    return ends;
  }
};

struct Flags {
  unsigned port = 8080;
  int exit_code = -1;  // >= 0: print nothing more, exit with this
};

inline Flags parse_flags(int argc, char** argv, const char* name) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string v;
    if (a.substr(0, 7) == "--port=") v = a.substr(7);
    else if (a == "--port" && i + 1 < argc) v = argv[++i];
    else {
      std::fprintf(a == "--help" || a == "-h" ? stdout : stderr,
                   "usage: %s [--port P]\n"
                   "  a floor HTTP server for bench/run: answers every \"\\r\\n\\r\\n\" with a canned\n"
                   "  \"Hello, World!\" reply on 127.0.0.1:P (0 picks a free port); SIGTERM stops it\n",
                   name);
      f.exit_code = a == "--help" || a == "-h" ? 0 : 2;
      return f;
    }
    char* end = nullptr;
    unsigned long p = std::strtoul(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || p > 65535) {
      std::fprintf(stderr, "%s: bad --port '%s'\n", name, v.c_str());
      f.exit_code = 2;
      return f;
    }
    f.port = static_cast<unsigned>(p);
  }
  return f;
}

inline void raise_nofile() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// Binds 127.0.0.1:port and listens; prints the listening line. Returns the fd or -1.
inline int listen_on(unsigned port, const char* name, bool nonblocking) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(fd, 4096) < 0) {
    std::fprintf(stderr, "%s: cannot listen on 127.0.0.1:%u: %s\n", name, port, std::strerror(errno));
    close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::printf("%s: listening on http://127.0.0.1:%u/\n", name, ntohs(a.sin_port));
  std::fflush(stdout);
  return fd;
}

inline void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace floor_server
