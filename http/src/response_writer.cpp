#include "response_writer.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>
#include <stdexcept>

#include "hellepoll/http/http_date.hpp"
#include "hellepoll/http/status.hpp"
#include "hellepoll/io.hpp"
#include "request_preconditions.hpp"

namespace hellepoll::http {
namespace {

// "Server: hellepoll\r\nDate: <IMF-fixdate>\r\n", the two lines nearly every response
// starts with. The date changes once a second: format both lines then, per thread, and a
// response copies one fixed-size block (they were a literal and a memcpy call each).
constexpr std::string_view server_line = "Server: hellepoll\r\n";
struct StandardLines {
  // NUL-terminated, so HeadWriter takes it as it takes a literal.
  char bytes[server_line.size() + 6 + http_date_length + 2 + 1];
  std::string_view date_line() const noexcept {
    return {bytes + server_line.size(), sizeof bytes - 1 - server_line.size()};
  }
};
const StandardLines& standard_lines() noexcept {
  thread_local std::time_t cached_at = -1;
  thread_local StandardLines lines;
  const std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    char* p = lines.bytes;
    p = std::copy(server_line.begin(), server_line.end(), p);
    p = std::copy_n("Date: ", 6, p);
    format_http_date(now, std::span<char, http_date_length>(p, http_date_length));
    p = std::copy_n("\r\n", 3, p + http_date_length);  // with the NUL
    cached_at = now;
  }
  return lines;
}

// "HTTP/1.1 NNN Reason\r\n" for every status from 100 to 599, composed once at start-up:
// a response's status line is one copy, not a number formatted and a reason phrase looked
// up each time (~80 instructions of a keep-alive request, bench/callgrind_hello.sh).
class StatusLines {
 public:
  StatusLines() noexcept {
    for (int s = first; s <= last; ++s) {
      Line& l = lines_[s - first];
      l.size = static_cast<std::uint8_t>(
          fmt::format_to_n(l.text, sizeof l.text, "HTTP/1.1 {} {}\r\n", s, reason_phrase(s)).size);
    }
  }
  // Empty outside 100-599: the caller composes such a line itself.
  std::string_view of(int status) const noexcept {
    if (status < first || status > last) return {};
    const Line& l = lines_[status - first];
    return {l.text, l.size};
  }

 private:
  static constexpr int first = 100;
  static constexpr int last = 599;
  struct Line {
    char text[48];  // the longest, 431's, is 46 bytes
    std::uint8_t size;
  };
  Line lines_[last - first + 1];
};
const StatusLines status_lines;

// Writes into a buffer the caller sized for everything written: no bound checks, and
// literals copied with lengths known at compile time. (As a chain of std::string
// appends, the head was a tenth of the server's user-space time under pipelining.)
class HeadWriter {
 public:
  explicit HeadWriter(char* at) noexcept : p_(at) {}
  template <std::size_t N>
  HeadWriter& operator<<(const char (&literal)[N]) noexcept {
    std::memcpy(p_, literal, N - 1);
    p_ += N - 1;
    return *this;
  }
  HeadWriter& operator<<(std::string_view s) noexcept {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
    return *this;
  }
  HeadWriter& operator<<(std::uint64_t n) noexcept {
    fmt::format_int f(n);
    return *this << std::string_view(f.data(), f.size());
  }
  char* end() const noexcept { return p_; }

 private:
  char* p_;
};

// The longest head apart from its variable parts: every literal below, a 20-digit
// Content-Length and status, and the Date.
constexpr std::size_t head_fixed_bytes = 256;

}  // namespace

void append_response_head(std::string& out, const Response& r, int version_minor, bool keep_alive, bool head_only,
                          Framing framing) {
  (void)head_only;  // HEAD gets the very head GET would get (RFC 9110 §9.3.2)
  const int status = r.status();
  const bool may_have_body = !status_forbids_body(status);
  const std::string_view status_line = status_lines.of(status);
  const std::string_view reason = status_line.empty() ? reason_phrase(status) : std::string_view();
  const std::size_t bound =
      head_fixed_bytes + status_line.size() + reason.size() + r.content_type().size() + r.extra_headers().size();
  char stack[1024];
  std::unique_ptr<char[]> heap;
  char* buf = bound <= sizeof stack ? stack : (heap = std::make_unique_for_overwrite<char[]>(bound)).get();
  HeadWriter h(buf);
  if (!status_line.empty()) h << status_line;
  else h << "HTTP/1.1 " << static_cast<std::uint64_t>(status) << " " << reason << "\r\n";
  const StandardLines& standard = standard_lines();
  if (!r.has_server() && !r.has_date()) {
    h << standard.bytes;
  } else {
    if (!r.has_server()) h << server_line;
    if (!r.has_date()) h << standard.date_line();
  }
  if (!r.content_type().empty() && may_have_body) h << "Content-Type: " << r.content_type() << "\r\n";
  if (!r.extra_headers().empty()) h << std::string_view(r.extra_headers());
  if (may_have_body) {
    if (framing == Framing::content_length) h << "Content-Length: " << r.content_length() << "\r\n";
    else if (framing == Framing::chunked) h << "Transfer-Encoding: chunked\r\n";
  }
  if (!keep_alive) h << "Connection: close\r\n";
  else if (version_minor == 0) h << "Connection: keep-alive\r\n";
  h << "\r\n";
  out.append(buf, static_cast<std::size_t>(h.end() - buf));
}

namespace {
// Read buffers for file bodies, recycled per thread: allocating (and faulting in) 64 KiB
// per response showed up as a fifth of the server's time in the 4 KiB-file benchmark.
class ReadBuffers {
 public:
  static constexpr std::size_t size = 64 * 1024;
  std::unique_ptr<char[]> take() {
    if (free_.empty()) return std::unique_ptr<char[]>(new char[size]);  // not value-initialised
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give(std::unique_ptr<char[]> b) {
    if (free_.size() < 16) free_.push_back(std::move(b));  // bounded: 1 MiB per thread at most
  }

 private:
  std::vector<std::unique_ptr<char[]>> free_;
};
thread_local ReadBuffers read_buffers;

// Reads up to one buffer of the file at `offset` through the backend (io_uring READ, or the
// epoll file pool) and sends it: for bytes that sendfile would wait on the disk for. The
// bytes sent, 0 on any failure.
Task<std::size_t> read_and_send(TcpStream& stream, int fd, std::uint64_t offset, std::uint64_t left,
                                std::unique_ptr<char[]>& buf, Duration write_timeout) {
  if (!buf) buf = read_buffers.take();
  const std::size_t want = left < ReadBuffers::size ? static_cast<std::size_t>(left) : ReadBuffers::size;
  const int r = co_await io::read_at(fd, buf.get(), want, offset);
  if (r <= 0) co_return 0;
  const std::string_view bytes(buf.get(), static_cast<std::size_t>(r));
  if (!co_await stream.send_all(bytes, write_timeout)) co_return 0;
  co_return bytes.size();
}
}  // namespace

Task<bool> send_file_body(TcpStream& stream, const FileBody& body, Duration write_timeout, std::uint64_t& sent) {
  std::uint64_t offset = body.offset;
  std::uint64_t left = body.length;
  std::unique_ptr<char[]> buf;  // only for bytes that were not in the page cache
  bool try_sendfile = true;     // false once the filesystem cannot tell what is cached
  bool ok = true;
  while (left > 0) {
    std::size_t n = 0;
    int refused = EOPNOTSUPP;  // why sendfile did not send: read the bytes instead
    if (try_sendfile) {
      // No copy through user space: the copies were half the server's time on a 1 MiB file.
      const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(left, 1u << 30));  // size_t may be 32 bits
      // As every other write of a reply: write_timeout bounds one wait for room; zero is none.
      auto sent = co_await stream.send_file(body.fd, offset, len, TcpStream::stall_deadline(write_timeout));
      n = sent ? *sent : 0;
      refused = sent ? 0 : sent.error().value();
      try_sendfile = refused != EOPNOTSUPP;
    }
    if (refused == ENODATA || refused == EOPNOTSUPP)
      n = co_await read_and_send(stream, body.fd, offset, left, buf, write_timeout);
    if (n == 0) {  // error, peer gone, or the file shrank under us: end this response, not the server
      ok = false;
      break;
    }
    offset += n;
    left -= n;
    sent += n;
  }
  if (buf) read_buffers.give(std::move(buf));
  co_return ok;
}

Task<bool> read_small_file_into(std::string& out, const FileBody& body) {
  const std::size_t old = out.size();
  const std::size_t len = static_cast<std::size_t>(body.length);
  out.resize(old + len);
  std::size_t done = 0;
  while (done < len) {
    int n = co_await io::read_at(body.fd, out.data() + old + done, len - done, body.offset + done);
    if (n <= 0) {
      out.resize(old);
      co_return false;
    }
    done += static_cast<std::size_t>(n);
  }
  co_return true;
}

Task<bool> send_file_response(TcpStream& stream, const Response& r, const FileBody& body, Duration write_timeout,
                              std::uint64_t& sent) {
  if (r.file_parts().empty()) co_return co_await send_file_body(stream, body, write_timeout, sent);
  for (const FilePart& part : r.file_parts()) {
    if (!co_await stream.send_all(part.header, write_timeout, MSG_MORE)) co_return false;
    sent += part.header.size();
    if (!co_await send_file_body(stream, FileBody{body.fd, part.offset, part.length}, write_timeout, sent))
      co_return false;
  }
  if (!co_await stream.send_all(r.file_trailer(), write_timeout)) co_return false;
  sent += r.file_trailer().size();
  co_return true;
}

StreamWriter::StreamWriter(TcpStream& stream, std::string& out, int version_minor, bool keep_alive, bool head_only,
                           Duration write_timeout, const Request* preconditions)
    : stream_(stream),
      out_(out),
      version_minor_(version_minor),
      // HTTP/1.0 has no chunked coding: the end of the body is the end of the connection.
      keep_alive_(keep_alive && version_minor >= 1),
      head_only_(head_only),
      write_timeout_(write_timeout),
      preconditions_(preconditions) {}

bool StreamWriter::preconditions_decide() {
  if (!preconditions_) return false;
  const int before = pending_.status();
  detail::apply_preconditions(*preconditions_, pending_);
  return pending_.status() != before;
}

void StreamWriter::check_not_sent() const {
  if (head_sent_) throw std::logic_error("the response head was already sent");
}
void StreamWriter::status(int s) {
  check_not_sent();
  pending_.status(s);
}
void StreamWriter::header(std::string_view name, std::string_view value) {
  check_not_sent();
  pending_.header(name, value);
}
void StreamWriter::content_type(std::string_view type) {
  check_not_sent();
  pending_.content_type(type);
}

bool StreamWriter::connection_reusable() const noexcept { return keep_alive_ && !broken_ && !(failed_ && head_sent_); }

Task<Result<void>> StreamWriter::write(std::string_view data) {
  if (broken_) co_return make_error_code(std::errc::broken_pipe);
  if (answered_) co_return make_error_code(std::errc::operation_canceled);
  if (!head_sent_ && preconditions_decide()) {
    // The client's conditions answer it (RFC 9110 §13.2.1: evaluated before the method
    // is performed): a whole 304 or 412 goes out, and the handler is told to stop.
    answered_ = true;
    co_await finish();
    co_return make_error_code(std::errc::operation_canceled);
  }
  if (!head_sent_) {
    append_response_head(out_, pending_, version_minor_, keep_alive_, head_only_,
                         version_minor_ >= 1 ? Framing::chunked : Framing::close_delimited);
    head_sent_ = true;
    // 204 and 304 have no content and no framing (the head says nothing of one), 205 has
    // none either but says so (an empty chunked body): what is written for them is
    // dropped, as for HEAD, or it would be read as the next response (RFC 9110 §6.4.1).
    const int s = pending_.status();
    discard_ = head_only_ || status_forbids_body(s) || s == 205;
  }
  if (discard_ || data.empty()) {  // an empty chunk would end the body
    if (out_.empty()) co_return Result<void>{};
    auto r = co_await stream_.send_all(out_, write_timeout_);
    out_.clear();
    if (!r) broken_ = true;
    co_return r;
  }
  char size_line[24];
  std::size_t size_len = 0;
  if (version_minor_ >= 1) size_len = static_cast<std::size_t>(fmt::format_to(size_line, "{:x}\r\n", data.size()) - size_line);
  iovec iov[4];
  std::size_t n = 0;
  if (!out_.empty()) iov[n++] = {out_.data(), out_.size()};
  if (size_len) iov[n++] = {size_line, size_len};
  iov[n++] = {const_cast<char*>(data.data()), data.size()};
  if (size_len) iov[n++] = {const_cast<char*>("\r\n"), 2};
  auto r = co_await stream_.writev_all(std::span<iovec>(iov, n), write_timeout_);
  out_.clear();
  if (!r) {
    broken_ = true;
    co_return r;
  }
  bytes_ += data.size();
  co_return Result<void>{};
}

Task<void> StreamWriter::finish() {
  if (!head_sent_) {
    // Nothing was streamed: send a complete, ordinary response instead.
    if (failed_) pending_ = Response::error(500, "the handler failed");
    else if (!answered_) (void)preconditions_decide();
    append_response_head(out_, pending_, version_minor_, keep_alive_, head_only_);
    if (!head_only_) out_.append(pending_.body());
    head_sent_ = true;
    // A failure answered with a whole 500 leaves the connection usable, as the head
    // just promised (it closed here before, after a head that said keep-alive).
    failed_ = false;
    bytes_ = head_only_ ? 0 : pending_.body().size();
    co_return;  // the connection flushes out_
  }
  if (answered_ || broken_ || failed_ || head_only_ || version_minor_ == 0 || status_forbids_body(pending_.status()))
    co_return;
  out_.append("0\r\n\r\n");
}

}  // namespace hellepoll::http
