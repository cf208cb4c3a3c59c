// Serialising response heads, the streaming writer, and sending file bodies.
#pragma once

#include <cstdint>
#include <string>

#include "hellepoll/clock.hpp"
#include "hellepoll/http/request.hpp"
#include "hellepoll/http/response.hpp"
#include "hellepoll/http/response_stream.hpp"
#include "hellepoll/net/tcp_stream.hpp"

namespace hellepoll::http {

enum class Framing { content_length, chunked, close_delimited };

// Appends the status line and headers. The framework owns Content-Length or
// Transfer-Encoding (per `framing`), Connection, and (unless the response set them)
// Date and Server. For HEAD the same head as for GET goes out.
void append_response_head(std::string& out, const Response& r, int version_minor, bool keep_alive, bool head_only,
                          Framing framing = Framing::content_length);

// Sends a file range after the head was flushed: sendfile for what is in the page cache
// (no copy through user space); what is not is read through the backend (io_uring READ,
// or the epoll file pool) into a pooled buffer and sent, so a cold file never stalls the
// thread.
// `sent` grows by the bytes sent, also when it fails (the access log tells them).
Task<bool> send_file_body(TcpStream& stream, const FileBody& body, Duration write_timeout, std::uint64_t& sent);
// A small file range read straight into the output buffer, so head and body leave in one
// write. False (and `out` unchanged) if the file could not be read in full.
Task<bool> read_small_file_into(std::string& out, const FileBody& body);
// Up to here a copy through user space (read, then one send with the head) costs less
// than sendfile's extra calls; above it the copy loses (the two copies and the buffer's
// zero-fill grow with the size): paired on io_uring, c64, sendfile against the copy was
// 1.01x at 8 KiB, 1.07x at 12, 1.18x at 16, 1.37x at 24, 1.50x at 32 (bench/RESULTS.md
// item 41). With 32 KiB here, nginx was 1.07-1.16x cheaper per request at 24-32 KiB.
inline constexpr std::uint64_t small_file_limit = 8 * 1024;
// TCP_NOTSENT_LOWAT of a connection once it sends a file body by sendfile (set by its
// first): at most this many bytes not yet sent wait in the socket, so each sendfile queues
// about what the peer's window takes and this thread sends it. Without it megabytes wait
// in the socket and the peer's ACKs push them out, which on loopback is work done on the
// client's CPU (bench/RESULTS.md: wrk's MiB/s on a 1 MiB file +8 to +13%). 16, 32 and
// 64 KiB gave the same MiB/s on loopback; the largest means the fewest wake-ups to refill
// the socket.
inline constexpr std::uint32_t notsent_lowat = 64 * 1024;

// The whole file body of `r`: one range, or the parts of a multipart/byteranges body.
// False when the client is gone or the file could not be read in full (it shrank): the
// connection must close, since the announced Content-Length can no longer be honoured.
// `sent` grows by the body bytes sent (multipart framing included), also when it fails.
Task<bool> send_file_response(TcpStream& stream, const Response& r, const FileBody& body, Duration write_timeout,
                              std::uint64_t& sent);

class StreamWriter final : public ResponseStream {
 public:
  // `preconditions`: the request, when it has conditional fields to answer from the head
  // the handler sets (304 or 412 instead of the stream, as for a buffered reply).
  StreamWriter(TcpStream& stream, std::string& out, int version_minor, bool keep_alive, bool head_only,
               Duration write_timeout, const Request* preconditions = nullptr);

  void status(int s) override;
  void header(std::string_view name, std::string_view value) override;
  void content_type(std::string_view type) override;
  Task<Result<void>> write(std::string_view data) override;
  bool head_sent() const noexcept override { return head_sent_; }

  // The handler threw.
  void fail() noexcept { failed_ = true; }
  // A whole 304 or 412 went out instead of the stream (its writes then fail).
  bool answered_by_preconditions() const noexcept { return answered_; }
  // Ends the response: the last chunk, or a whole response if nothing was written.
  Task<void> finish();
  int status_sent() const noexcept { return pending_.status(); }
  std::uint64_t bytes_sent() const noexcept { return bytes_; }
  bool connection_reusable() const noexcept;

 private:
  void check_not_sent() const;
  // Applies the request's preconditions to the head set so far (the handler's 200 to a
  // GET or HEAD): true if they decided it, pending_ now that whole 304 or 412.
  bool preconditions_decide();

  TcpStream& stream_;
  std::string& out_;
  Response pending_;
  int version_minor_;
  bool keep_alive_;
  bool head_only_;
  Duration write_timeout_;
  const Request* preconditions_;
  bool head_sent_ = false;
  bool answered_ = false;  // by the preconditions: a whole response went out instead
  bool discard_ = false;  // the head sent says there is no content: writes send nothing
  bool failed_ = false;
  bool broken_ = false;  // a write failed: the client is gone
  std::uint64_t bytes_ = 0;
};

}  // namespace hellepoll::http
