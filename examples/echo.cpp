// A TCP echo server on the runtime alone (no HTTP): N threads, each with its own
// Scheduler and a SO_REUSEPORT listener on the same port.
//
//   build/examples/echo --port 7000 --threads 2 --backend epoll
#include <fmt/core.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstddef>
#include <hellepoll/net/listener.hpp>
#include <hellepoll/scheduler.hpp>
#include <hellepoll/sleep.hpp>
#include <string_view>
#include <thread>
#include <vector>

using namespace hellepoll;

namespace {

std::atomic<bool> stopping{false};

Task<void> echo(TcpStream stream) {
  std::array<std::byte, 16384> buf;
  for (;;) {
    auto n = co_await stream.recv(buf);
    if (!n || *n == 0) break;  // error or EOF
    if (!co_await stream.send_all(std::span<const std::byte>(buf.data(), *n))) break;
  }
  co_await stream.close();
}

Task<void> serve(Listener& listener) {
  while (!stopping.load()) {
    // Wake up now and then to notice a stop request.
    auto conn = co_await listener.accept(Deadline::after(std::chrono::milliseconds(100)));
    if (conn) spawn(echo(std::move(*conn)));
  }
  Scheduler::current().stop();  // cancels every connection still open
}

bool parse_number(std::string_view s, unsigned& out, unsigned max) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size() && out <= max;
}

int usage(int code) {
  fmt::print(code ? stderr : stdout,
             "usage: echo [--host ADDR] [--port P] [--threads N] [--backend auto|uring|epoll]\n"
             "  --port 0 picks a free port; the first line printed names the address.\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned port = 7000, threads = 1;
  std::optional<std::string_view> backend_flag;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") return usage(0);
    if (i + 1 >= argc) {
      fmt::print(stderr, "echo: {} needs a value\n", a);
      return usage(2);
    }
    std::string_view v = argv[++i];
    if (a == "--host") host = v;
    else if (a == "--port" && parse_number(v, port, 65535)) continue;
    else if (a == "--threads" && parse_number(v, threads, 1024) && threads > 0) continue;
    else if (a == "--backend") backend_flag = v;
    else {
      fmt::print(stderr, "echo: bad flag or value: {} {}\n", a, v);
      return usage(2);
    }
  }
  BackendKind kind;
  try {
    kind = backend_kind_from(backend_flag);
  } catch (const std::exception& e) {
    fmt::print(stderr, "echo: {}\n", e.what());
    return 2;
  }
  auto address = SocketAddress::parse(host, static_cast<std::uint16_t>(port));
  if (!address) {
    fmt::print(stderr, "echo: --host must be a numeric address\n");
    return 2;
  }

  // SIGINT/SIGTERM are handled by a watcher thread (sigwait), never by a random thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::atomic<int> failed{0};
  std::atomic<unsigned> ready{0};
  std::atomic<std::uint16_t> bound_port{0};
  auto run_thread = [&](unsigned index) {
    try {
      Scheduler sched(kind);
      while (index > 0 && bound_port.load() == 0 && failed.load() == 0) std::this_thread::yield();
      SocketAddress at = *address;
      if (index > 0) at.set_port(bound_port.load());
      auto listener = Listener::bind(at, {.reuse_port = threads > 1});
      if (!listener) {
        fmt::print(stderr, "echo: cannot listen on {}: {}\n", at.to_string(), listener.error().message());
        failed = 1;
        return;
      }
      if (index == 0) {
        fmt::print("echo: listening on {} with {}, {} thread(s)\n", listener->local_address().to_string(),
                   sched.backend().describe(), threads);
        std::fflush(stdout);
        bound_port = listener->local_address().port();
      }
      ++ready;
      sched.block_on(serve(*listener));
    } catch (const std::exception& e) {
      fmt::print(stderr, "echo: {}\n", e.what());
      failed = 1;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) pool.emplace_back(run_thread, i);

  const timespec tick{0, 100'000'000};
  while (!failed.load() && !stopping.load()) {
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) stopping = true;
  }
  stopping = true;
  for (auto& t : pool) t.join();
  return failed.load() ? 1 : 0;
}
