#include "hellepoll/http/cli.hpp"

#include <netdb.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace hellepoll::http {
namespace {

// The error states the accepted range, so that one retry is enough.
unsigned parse_unsigned(std::string_view flag, std::string_view v, unsigned min, unsigned max) {
  unsigned out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || out < min || out > max)
    throw std::invalid_argument("bad value for " + std::string(flag) + ": '" + std::string(v) + "' (expected " +
                                std::to_string(min) + " to " + std::to_string(max) + ")");
  return out;
}

// A numeric address as it is; a name (localhost, this machine's name) looked up once, here.
// Of its addresses the first IPv4 one is taken, else the first IPv6 one: one listener,
// where nginx's `listen localhost` would bind each.
SocketAddress resolve_host(const std::string& host, std::uint16_t port) {
  if (auto numeric = SocketAddress::parse(host, port)) return *numeric;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0)
    throw std::invalid_argument("--host: cannot resolve '" + host + "': " + ::gai_strerror(rc));
  std::optional<SocketAddress> v4, v6;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    auto& slot = a->ai_family == AF_INET ? v4 : v6;
    if (!slot && (a->ai_family == AF_INET || a->ai_family == AF_INET6))
      slot = SocketAddress::from(a->ai_addr, a->ai_addrlen);
  }
  ::freeaddrinfo(found);
  if (!v4 && !v6) throw std::invalid_argument("--host: '" + host + "' has no IPv4 or IPv6 address");
  SocketAddress at = v4 ? *v4 : *v6;
  at.set_port(port);
  return at;
}

}  // namespace

std::string server_flags_help() {
  return "  --host ADDR          address to listen on (default 127.0.0.1; [::1] or ::1 for IPv6;\n"
         "                       a name such as localhost: its first IPv4 address, else IPv6)\n"
         "  --port P             TCP port (default 8080; 0 picks a free one)\n"
         "  --threads N          schedulers, one per thread, sharing the port (default 1)\n"
         "  --backend B          auto (default: io_uring, else epoll), uring or epoll;\n"
         "                       the HELLEPOLL_BACKEND environment variable sets the default\n"
         "  --access-log on|off  Common Log Format lines on stdout (default on)\n"
         "  --user NAME          started as root: serve as NAME once the port is bound, as\n"
         "                       nginx's user directive (files only root may read get 403)\n"
         "  --batch-wait US      io_uring under load: wait up to US microseconds for a batch\n"
         "                       of completions before waking (default 200; 0: wake at once)\n"
         "  --help               this text\n";
}

CliResult parse_server_flags(int argc, char** argv, ServerOptions& options,
                             const std::function<bool(std::string_view, std::string_view)>& extra,
                             const std::vector<std::string_view>& extra_switches) {
  CliResult res;
  std::string host = options.address.host();
  unsigned port = options.address.port();
  std::optional<std::string> backend;
  bool flags_ended = false;  // after "--" everything is positional, "-x" included
  try {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (flags_ended || !arg.starts_with('-')) {
        res.positional.emplace_back(arg);
        continue;
      }
      if (arg == "--") {
        flags_ended = true;
        continue;
      }
      if (arg == "--help" || arg == "-h") {
        res.help = true;
        return res;
      }
      std::string_view name = arg, value;
      bool has_value = false;
      if (auto eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        has_value = true;
      }
      const bool is_switch = std::find(extra_switches.begin(), extra_switches.end(), name) != extra_switches.end();
      static constexpr std::string_view builtin[] = {"--host", "--port", "--threads", "--backend", "--access-log",
                                                     "--batch-wait", "--user"};
      if (!is_switch && std::find(std::begin(builtin), std::end(builtin), name) == std::end(builtin))
        throw std::invalid_argument("unknown flag " + std::string(name));
      if (is_switch && has_value) throw std::invalid_argument(std::string(name) + " takes no value");
      if (!has_value && !is_switch) {
        if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + " needs a value");
        value = argv[++i];
      }
      if (name == "--host") host = value;
      else if (name == "--port") port = parse_unsigned(name, value, 0, 65535);
      else if (name == "--threads") options.threads = parse_unsigned(name, value, 1, 1024);
      else if (name == "--backend") backend = std::string(value);
      else if (name == "--user") {
        if (value.empty()) throw std::invalid_argument("--user needs a user name");
        options.user = value;
      }
      else if (name == "--access-log") {
        if (value != "on" && value != "off") throw std::invalid_argument("--access-log takes on or off");
        options.access_log = value == "on";
      } else if (name == "--batch-wait") {
        options.backend_options.batch_wait = std::chrono::microseconds(parse_unsigned(name, value, 0, 1'000'000));
      } else if (!extra || !extra(name, value)) {
        throw std::invalid_argument("unknown flag " + std::string(name));
      }
    }
    options.backend = backend_kind_from(backend ? std::optional<std::string_view>(*backend) : std::nullopt);
    options.address = resolve_host(host, static_cast<std::uint16_t>(port));
  } catch (const std::invalid_argument& e) {
    res.ok = false;
    res.error = e.what();
  }
  return res;
}

}  // namespace hellepoll::http
