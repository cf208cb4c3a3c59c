#include "hellepoll/http/cli.hpp"

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

}  // namespace

std::string server_flags_help() {
  return "  --host ADDR          address to listen on (default 127.0.0.1; [::1] or ::1 for IPv6)\n"
         "  --port P             TCP port (default 8080; 0 picks a free one)\n"
         "  --threads N          schedulers, one per thread, sharing the port (default 1)\n"
         "  --backend B          auto (default: io_uring, else epoll), uring or epoll;\n"
         "                       the HELLEPOLL_BACKEND environment variable sets the default\n"
         "  --access-log on|off  Common Log Format lines on stdout (default on)\n"
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
                                                     "--batch-wait"};
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
    auto addr = SocketAddress::parse(host, static_cast<std::uint16_t>(port));
    if (!addr) throw std::invalid_argument("--host must be a numeric IPv4 or IPv6 address, not '" + host + "'");
    options.address = *addr;
  } catch (const std::invalid_argument& e) {
    res.ok = false;
    res.error = e.what();
  }
  return res;
}

}  // namespace hellepoll::http
