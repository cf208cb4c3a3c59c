#include "access_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <iterator>

namespace hellepoll::http {
namespace {

// stdout and stderr for the access log, never waited on. A pipe whose reader stalls
// (`| less`, a log shipper that hangs) would otherwise block the serving thread in
// write(2), every connection of it with it, and SIGTERM too. So a pipe or terminal is
// reopened for this log alone with O_NONBLOCK (the shell's own description of it keeps its
// flags), a socket is sent to with MSG_DONTWAIT, and a regular file is written as it is:
// the disk does not wait on a reader.
class NonBlocking {
 public:
  explicit NonBlocking(int fd) : fd_(fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return;
    if (S_ISSOCK(st.st_mode)) {
      socket_ = true;
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
      const int own = ::open(fmt::format("/proc/self/fd/{}", fd).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (own >= 0) fd_ = own;
    }
  }
  // False only when there was no room. A line over PIPE_BUF (4 KiB) may go out in part
  // when the pipe is nearly full; the rest is lost with it.
  bool write(std::string_view s) noexcept {
    const ssize_t n = socket_ ? ::send(fd_, s.data(), s.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
                              : ::write(fd_, s.data(), s.size());
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);  // a closed stdout: nothing to tell
  }

 private:
  int fd_;
  bool socket_ = false;
};

// A line that finds no room is dropped and counted; stderr says so at most every 10 s.
class Output {
 public:
  void write(std::string_view line) noexcept {
    if (out_.write(line)) return;
    const auto total = dropped_.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::time_t now = std::time(nullptr);
    std::time_t last = last_told_.load(std::memory_order_relaxed);
    if (now - last < 10 || !last_told_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
    try {
      err_.write(fmt::format("hellepoll warn: access log: stdout is full (its reader is not keeping up); "
                             "{} line(s) dropped so far\n",
                             total));
    } catch (...) {
    }
  }

 private:
  NonBlocking out_{STDOUT_FILENO};
  NonBlocking err_{STDERR_FILENO};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::time_t> last_told_{0};
};

Output& output() {
  static Output out;  // on first use: after the program has set up its stdout
  return out;
}

// Quotes, backslashes and bytes outside printable ASCII as \xHH, as nginx does: the line
// can always be split on its quotes.
template <typename Out>
void append_escaped(Out out, std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) fmt::format_to(out, "\\x{:02X}", c);
    else *out++ = ch;
  }
}

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
    output().write({line.data(), line.size()});
  } catch (...) {
  }
}

}  // namespace

void open_access_log() noexcept { output(); }

void write_access_log(std::string_view peer_host, const Request& req, int status, std::uint64_t bytes) noexcept {
  write_line(
      peer_host,
      [&](auto out) {
        // The parser admits no control byte in a method or target, but a target may hold
        // '"' and '\', which are VCHARs.
        fmt::format_to(out, "{} ", req.method());
        append_escaped(out, req.target());
        fmt::format_to(out, " HTTP/1.{}", req.version_minor());
      },
      status, bytes);
}

void write_refused_access_log(std::string_view peer_host, std::string_view line, int status,
                              std::uint64_t bytes) noexcept {
  write_line(
      peer_host,
      [&](auto out) {
        if (line.empty()) *out++ = '-';
        else append_escaped(out, line);
      },
      status, bytes);
}

}  // namespace hellepoll::http
