#include "access_log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <mutex>
#include <string>

#include "hellepoll/scheduler.hpp"
#include "log_throttle.hpp"

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
  // The bytes taken: 0 when there was no room, all of them when the output is gone (a
  // closed stdout: nothing to tell). A pipe takes a write of up to PIPE_BUF whole or not at
  // all; a longer one, or one to a TCP socket, may be taken in part.
  std::size_t write(std::string_view s) noexcept {
    const ssize_t n = socket_ ? ::send(fd_, s.data(), s.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
                              : ::write(fd_, s.data(), s.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : s.size();
  }
  // Waits up to `ms` for room (at exit, for the rest of a line cut short).
  bool wait_for_room(int ms) const noexcept {
    pollfd p{fd_, POLLOUT, 0};
    return ::poll(&p, 1, ms) > 0;
  }

 private:
  int fd_;
  bool socket_ = false;
};

// What the threads' lines go through, one write at a time. Lines that find no room are
// dropped whole and counted (stderr says so at most every 10 s); a write taken in part
// leaves the rest of its last line, which goes out before anything else so that no line
// is ever cut or glued to another. That rest waits for the next write of any thread (an
// idle server sends it with its next request's line) or for the exit.
class Output {
 public:
  void write(std::string_view lines, std::size_t count) noexcept {
    const std::lock_guard lock(mutex_);
    if (!rest_.empty()) {
      rest_.erase(0, out_.write(rest_));
      if (!rest_.empty()) {  // still no room: the new lines queue behind it, within bounds
        if (rest_.size() + lines.size() > kMaxRest) return dropped(count);
        try {
          rest_.append(lines);
        } catch (...) {
          dropped(count);
        }
        return;
      }
    }
    const std::size_t n = out_.write(lines);
    if (n == lines.size()) return;
    if (n == 0) return dropped(count);
    try {
      rest_.assign(lines.substr(n));
    } catch (...) {  // out of memory: end the cut line, so the next one starts a line of its own
      (void)out_.write("\n");
    }
  }
  // At the end: gives the rest of a cut line a moment (1 s at most) to go.
  void finish() noexcept {
    const std::lock_guard lock(mutex_);
    for (int tries = 0; !rest_.empty() && tries < 10 && out_.wait_for_room(100); ++tries)
      rest_.erase(0, out_.write(rest_));
  }

 private:
  static constexpr std::size_t kMaxRest = 64 * 1024;

  void dropped(std::size_t count) noexcept {
    const auto total = dropped_.fetch_add(count, std::memory_order_relaxed) + count;
    if (!told_.allow()) return;
    try {
      err_.write(fmt::format("hellepoll warn: access log: stdout is full (its reader is not keeping up); "
                             "{} line(s) dropped so far\n",
                             total));
    } catch (...) {
    }
  }

  NonBlocking out_{STDOUT_FILENO};
  NonBlocking err_{STDERR_FILENO};
  std::mutex mutex_;
  std::string rest_;  // of a line cut short: what goes first
  std::atomic<std::uint64_t> dropped_{0};
  detail::LogThrottle told_{10};
};

// Made on first use (after the program has set up its stdout) and never destroyed: a
// thread that logs late, or a thread_local Pending flushed at its thread's exit, must not
// find it gone. finish_access_log() sends what is left once the server's threads are done.
Output& output() {
  static Output* const out = new Output;
  return *out;
}

// A thread's lines of this turn of its loop, written at the turn's end in one write(2):
// a write per request cost as much as a keep-alive request's whole user-space work. A
// batch holds at most PIPE_BUF bytes of lines (one longer line alone), so a pipe takes
// it whole or not at all, and a pipe shared with another writer (`2>&1`) does not get
// our lines and theirs mixed; only the rest of a line a pipe took in part (Output) is
// written on its own.
thread_local bool pending_gone = false;  // trivially destructible: readable at any exit
struct Pending {
  std::string lines;
  std::size_t count = 0;
  bool flush_asked = false;
  ~Pending() {  // a line logged after its scheduler's last turn
    if (!lines.empty()) output().write(lines, count);
    pending_gone = true;  // a scheduler that outlives it (a static one) must not flush it
  }
};
thread_local Pending pending;
constexpr std::size_t kWholeWrite = 4096;  // PIPE_BUF

void flush(void* arg) noexcept {
  if (pending_gone) return;
  auto& p = *static_cast<Pending*>(arg);
  p.flush_asked = false;
  if (p.lines.empty()) return;
  output().write(p.lines, p.count);
  p.lines.clear();
  p.count = 0;
}

// "[01/Dec/2026:15:48:44 +0000]" for the current second, formatted once a second.
std::string_view log_date() noexcept {
  thread_local std::time_t formatted_for = -1;
  thread_local char date[40];
  thread_local std::size_t size = 0;
  const std::time_t now = std::time(nullptr);
  if (now != formatted_for) {
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    size = fmt::format_to_n(date, sizeof date, "[{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000]", tm.tm_mday,
                            months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec)
               .size;
    formatted_for = now;
  }
  return {date, size};
}

// Quotes, backslashes and bytes outside printable ASCII as \xHH, as nginx does: the line
// can always be split on its quotes.
void append_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) {
      const char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
      out.append(esc, 4);
    } else {
      out.push_back(ch);
    }
  }
}

// One line: `request` goes between the quotes as it is.
template <typename FormatRequest>
void write_line(std::string_view peer_host, FormatRequest&& format_request, int status, std::uint64_t bytes) noexcept {
  if (pending_gone) return;
  Pending& p = pending;
  std::size_t before = p.lines.size();
  try {
    std::string& out = p.lines;
    out.append(peer_host.empty() ? std::string_view("-") : peer_host);
    out.append(" - - ");
    out.append(log_date());
    out.append(" \"");
    format_request(out);
    out.append("\" ");
    const fmt::format_int code(status);
    out.append(code.data(), code.size());
    out.push_back(' ');
    if (bytes) {
      const fmt::format_int n(bytes);
      out.append(n.data(), n.size());
    } else {
      out.push_back('-');
    }
    out.push_back('\n');
    if (out.size() > kWholeWrite && before > 0) {  // the lines before this one go first
      output().write({out.data(), before}, p.count);
      out.erase(0, before);
      p.count = 0;
      before = 0;
    }
    ++p.count;
    if (p.flush_asked) return;
    if (Scheduler* s = Scheduler::current_or_null()) {
      s->at_turn_end(&flush, &p);
      p.flush_asked = true;
    } else {
      flush(&p);
    }
  } catch (...) {
    // Out of memory: no half line may stay to be glued to the next one.
    if (p.lines.size() > before && p.lines.back() != '\n') p.lines.resize(before);
  }
}

}  // namespace

void open_access_log() noexcept { output(); }

void finish_access_log() noexcept { output().finish(); }

void write_access_log(std::string_view peer_host, const Request& req, int status, std::uint64_t bytes) noexcept {
  write_line(
      peer_host,
      [&](std::string& out) {
        // The parser admits no control byte in a method or target, but a target may hold
        // '"' and '\', which are VCHARs.
        out.append(req.method());
        out.push_back(' ');
        append_escaped(out, req.target());
        out.append(" HTTP/1.");
        out.push_back(static_cast<char>('0' + req.version_minor()));
      },
      status, bytes);
}

void write_refused_access_log(std::string_view peer_host, std::string_view line, int status,
                              std::uint64_t bytes) noexcept {
  write_line(
      peer_host,
      [&](std::string& out) {
        if (line.empty()) out.push_back('-');
        else append_escaped(out, line);
      },
      status, bytes);
}

}  // namespace hellepoll::http
