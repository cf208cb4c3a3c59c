#include "access_log.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <ctime>
#include <iterator>

namespace hellepoll::http {
namespace {

// One line: `request` goes between the quotes as it is.
template <typename FormatRequest>
void write_line(std::string_view peer_host, FormatRequest&& format_request, int status, std::uint64_t bytes) noexcept {
  try {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    fmt::memory_buffer line;
    auto out = std::back_inserter(line);
    fmt::format_to(out, "{} - - [{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000] \"", peer_host.empty() ? "-" : peer_host,
                   tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    format_request(out);
    fmt::format_to(out, "\" {} ", status);
    if (bytes) fmt::format_to(out, "{}\n", bytes);
    else line.append(std::string_view("-\n"));
    // One write(2) per line: lines from several threads never interleave.
    [[maybe_unused]] auto r = ::write(STDOUT_FILENO, line.data(), line.size());
  } catch (...) {
  }
}

}  // namespace

void write_access_log(std::string_view peer_host, const Request& req, int status, std::uint64_t bytes) noexcept {
  // The parser admits no quote, backslash or control byte in a method or target: nothing
  // to escape.
  write_line(
      peer_host,
      [&](auto out) { fmt::format_to(out, "{} {} HTTP/1.{}", req.method(), req.target(), req.version_minor()); },
      status, bytes);
}

void write_refused_access_log(std::string_view peer_host, std::string_view line, int status,
                              std::uint64_t bytes) noexcept {
  write_line(
      peer_host,
      [&](auto out) {
        if (line.empty()) {
          *out++ = '-';
          return;
        }
        for (const char ch : line) {
          const auto c = static_cast<unsigned char>(ch);
          if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) fmt::format_to(out, "\\x{:02X}", c);
          else *out++ = ch;
        }
      },
      status, bytes);
}

}  // namespace hellepoll::http
