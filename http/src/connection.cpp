// One coroutine per connection: read, parse every complete request in the buffer, run
// its handler, append its response, and send all responses produced by one read in one
// write. Keep-alive, pipelining, 100-continue, chunked bodies, HEAD, timeouts, limits.
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access_log.hpp"
#include "input_buffer.hpp"
#include "page_arena.hpp"
#include "request_preconditions.hpp"
#include "hellepoll/http/chunked.hpp"
#include "hellepoll/http/parser.hpp"
#include "hellepoll/http/path.hpp"
#include "hellepoll/http/server.hpp"
#include "hellepoll/http/status.hpp"
#include "hellepoll/io.hpp"
#include "hellepoll/log.hpp"
#include "response_writer.hpp"

namespace hellepoll::http {
namespace {

// The 503 for a body the thread's body budget (max_body_memory_per_thread) cannot hold now.
constexpr std::string_view bodies_over_budget = "too many request bodies in memory; try again";

using namespace std::chrono_literals;

using detail::InputBuffer;
using detail::PageArena;
using detail::apply_preconditions;

enum class Outcome { keep_going, close, close_lingering };

// Logs the exception being handled as a handler's failure: call it from a catch block.
void log_handler_failure(const Route& route) noexcept {
  try {
    throw;
  } catch (const std::exception& what) {
    log(LogLevel::error, "handler for {} {} threw: {}", route.method, route.pattern, what.what());
  } catch (...) {
    log(LogLevel::error, "handler for {} {} threw a non-standard exception", route.method, route.pattern);
  }
}

// co_await HandlerCall(route, req): the handler's response, or a 500 when the handler
// throws (from its body or before its coroutine starts) or returns no task at all (a
// default-constructed Task from a plain function: awaiting it throws). The exception is
// caught in await_resume, so the result initialises a Response directly: a try block
// around the co_await cost a default-constructed Response and a move assignment per request.
class HandlerCall {
 public:
  HandlerCall(const Route& route, Request& req) : route_(route) {
    try {
      task_ = route.handler(req);
      inner_ = std::move(task_).operator co_await();
    } catch (...) {
      failed_ = failure();
    }
  }
  bool await_ready() const noexcept { return failed_ || inner_.await_ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) noexcept { return inner_.await_suspend(h); }
  Response await_resume() {
    if (failed_) return std::move(*failed_);
    try {
      return inner_.await_resume();
    } catch (...) {
      return failure();
    }
  }

 private:
  // From a catch block.
  Response failure() const {
    log_handler_failure(route_);
    return Response::error(500, "the handler failed");
  }

  const Route& route_;
  Task<Response> task_;  // owns the handler's frame; inner_ only points at it
  Task<Response>::Awaiter inner_{};
  std::optional<Response> failed_;
};

class Connection : public ServerThread::Tracked {
 public:
  Connection(TcpStream stream, ServerThread& thread)
      : stream_(std::move(stream)),
        thread_(thread),
        opts_(thread.options()),
        parser_slot_(std::in_place, thread.parser_limits(), &parser_memory_) {
    fd = stream_.fd();
    if (opts_.access_log)
      if (auto peer = stream_.peer_address()) peer_host_ = peer->host();
    thread_.track(this);
  }
  ~Connection() {
    thread_.release_body_memory(body_claim_);
    thread_.untrack(this);
  }

  Task<void> run();

 private:
  // Reads more input into in_; `co_await fill(...)` is true when bytes came, false on EOF,
  // error or timeout (timed_out says which). An awaitable, not a coroutine: the wait
  // between keep-alive requests allocates no frame and touches only the connection.
  struct Fill {
    ReusableOp::Awaiter read;
    Connection& c;
    bool& timed_out;
    std::size_t asked;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) { return read.await_suspend(h); }
    bool await_resume() noexcept {
      const int n = read.await_resume();
      timed_out = n == -ETIMEDOUT;
      if (n <= 0) return false;
      c.in_.commit(static_cast<std::size_t>(n));
      c.last_read_full_ = static_cast<std::size_t>(n) == asked;
      return true;
    }
  };
  // Reads into in_.space(want, most).
  Fill fill(Deadline deadline, bool& timed_out, std::size_t want = detail::page_bytes, std::size_t most = SIZE_MAX) {
    const auto space = in_.space(want, most);
    return Fill{io_.recv(fd, space.data(), space.size(), deadline), *this, timed_out, space.size()};
  }
  Task<bool> wait_idle(Deadline idle_deadline, bool& timed_out);
  void release_memory() noexcept;
  // Sends out_. more_follows: the file body comes next (MSG_MORE: the head rides in the
  // first full segment instead of going out alone, as nginx's TCP_CORK does; sent alone
  // it cost a third of the throughput of a 1 MiB file).
  Task<bool> flush(bool more_follows = false);
  // One send of out_ from `sent` on, and what follows the last one: flush() is a loop of
  // these, and run() loops inline between requests, where flush()'s coroutine frame was
  // 4% of a keep-alive request's user-space instructions.
  ReusableOp::Awaiter send_out(std::size_t sent, int flags = 0) {
    // write_timeout bounds each wait for room, not the whole send: a slow reader that
    // keeps reading is not cut off (TcpStream::send_all with a stall limit does the same).
    return io_.send(fd, out_.data() + sent, out_.size() - sent, flags, TcpStream::stall_deadline(opts_.write_timeout));
  }
  void out_sent() {
    out_.clear();
    if (out_.capacity() > 256 * 1024) out_.shrink_to_fit();
  }
  Task<Outcome> handle_complete_head();
  Router::Match route(const RequestHead& head, Request& req);
  [[gnu::noinline]] Router::Match route_normal_form(const RequestHead& head, Request& req);
  Task<Outcome> read_body(const Route* route, std::uint64_t limit);
  Task<bool> skip_request_body();
  Task<Outcome> respond_error(int status, std::string_view detail);
  // The current body's share of the thread's body memory: claimed as its buffer grows, given
  // back (with the memory itself, when it was more than a page or so) once it is answered.
  bool claim_body_memory(std::uint64_t n) noexcept {
    if (!thread_.claim_body_memory(n)) return false;
    body_claim_ += n;
    return true;
  }
  bool make_body_room(std::size_t n, const ChunkedDecoder& dec, std::uint64_t limit);
  // in_.space(want, most) for a body's read, its growth claimed; false if it cannot be.
  bool make_input_room(std::size_t want, std::size_t most = SIZE_MAX) {
    const std::size_t cap = in_.capacity();
    in_.space(want, most);
    return in_.capacity() == cap || claim_body_memory(in_.capacity() - cap);
  }
  void release_body_memory() noexcept;
  Task<void> linger();

  TcpStream stream_;
  ReusableOp io_;  // the connection's reads, writes and idle poll: one at a time
  ServerThread& thread_;
  const ServerOptions& opts_;
  // Created on demand: a long-idle connection gives its storage back (see wait_idle).
  RequestParser& parser() {
    if (!parser_slot_) parser_slot_.emplace(thread_.parser_limits(), &parser_memory_);
    return *parser_slot_;
  }
  PageArena parser_memory_;  // declared before the parser: outlives it
  std::optional<RequestParser> parser_slot_;
  InputBuffer in_;
  std::string out_;
  std::vector<char> body_;      // decoded chunked body (a vector: reserve() is exact)
  std::string_view body_view_;  // the body the handler sees
  std::string routed_path_;     // the request's path in normal form, when it was not
  std::size_t body_wire_bytes_ = 0;  // bytes after the head, still in in_, that belong to the body
  std::uint64_t body_claim_ = 0;     // of the thread's max_body_memory_per_thread
  // The body of a request answered without it (no route), to skip once answered; set
  // only then, so requests without one carry nothing more in handle_complete_head.
  BodyKind skip_kind_ = BodyKind::None;
  bool notsent_lowat_set_ = false;  // TCP_NOTSENT_LOWAT, set at the first file sent by sendfile
  bool last_read_full_ = false;     // the last read filled the space it had: more may wait
  std::uint64_t skip_length_ = 0;
  std::uint64_t skip_limit_ = 0;
  std::uint64_t served_ = 0;         // requests answered on this connection
  std::string peer_host_;            // for the access log (only when it is on)
};

// A connection that stayed idle past idle_release_after gives its buffers and parser
// storage back and waits for readability alone, so thousands of idle connections cost
// little memory; then reads the request that ended the wait.
Task<bool> Connection::wait_idle(Deadline idle_deadline, bool& timed_out) {
  release_memory();
  const int r = co_await io_.poll_read(fd, idle_deadline);
  if (r < 0) {
    timed_out = r == -ETIMEDOUT;
    co_return false;
  }
  co_return co_await fill(turn_deadline(opts_.header_timeout), timed_out);
}

// Room in body_ for `n` more decoded bytes: half as much again as it had (at least a page),
// so that copying stays linear, up to the route's limit; while the chunk being read is
// large against the buffer, not past the chunk sizes declared so far either (a body sent
// as one chunk ends in a buffer its size; small chunks grow it geometrically). What it
// grows by is claimed: the budget bounds the memory bodies hold, not just their bytes
// (growing by doubling held up to twice the claim). It grows as the data comes, not as it
// is declared: a client that declares a large chunk and sends it slowly claims about what
// came (a page at first), as with Content-Length.
bool Connection::make_body_room(std::size_t n, const ChunkedDecoder& dec, std::uint64_t limit) {
  const std::size_t cap = body_.capacity();
  const std::uint64_t needed = body_.size() + n;
  if (needed <= cap) return true;
  std::uint64_t grown = std::min<std::uint64_t>(cap + std::max<std::size_t>(cap / 2, 4096), limit);
  if (dec.chunk_size() * 2 >= cap) grown = std::min(grown, dec.declared_bytes());  // a large chunk
  const auto want = static_cast<std::size_t>(std::max(grown, needed));
  if (!claim_body_memory(want - cap)) return false;
  body_.reserve(want);
  return true;
}

void Connection::release_body_memory() noexcept {
  thread_.release_body_memory(std::exchange(body_claim_, 0));
  if (body_.capacity() > 16 * 1024) std::vector<char>().swap(body_);
}

void Connection::release_memory() noexcept {
  in_.release();
  parser_slot_.reset();
  parser_memory_.release(true);
  std::string().swap(out_);
  std::vector<char>().swap(body_);
  // free() keeps pages in the process; after a wave of connections going idle, hand
  // whole free pages back to the kernel so RSS reflects what idle connections cost.
  // Still worth it with pooled pages: 1,995 B per idle connection with it, 2,335 without
  // (bench/idle_conns --conns 9000 against hello on io_uring, 2026-11-30).
  thread_local unsigned released = 0;
  if (++released % 256 == 0) ::malloc_trim(0);
}

Task<bool> Connection::flush(bool more_follows) {
  const int flags = more_follows ? MSG_MORE : 0;
  bool ok = true;
  for (std::size_t sent = 0; sent < out_.size();) {
    const int n = co_await send_out(sent, flags);
    if (n <= 0) {
      ok = false;
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  out_sent();
  co_return ok;
}

Task<Outcome> Connection::respond_error(int status, std::string_view detail) {
  Response r = Response::error(status, detail);
  if (status == 503) r.header("Retry-After", "1");  // body memory frees as requests finish
  // An error reply to HEAD has no body either (RFC 9110 §9.3.2): the client would read
  // it as the start of the next response.
  const bool head_only = parser().method_so_far() == Method::HEAD;
  append_response_head(out_, r, /*version_minor=*/1, /*keep_alive=*/false, head_only);
  if (!head_only) out_.append(r.body());
  if (opts_.access_log)
    write_refused_access_log(peer_host_, parser().line_so_far(in_.view()), status, head_only ? 0 : r.body().size());
  log(LogLevel::debug, "closing connection after {}: {}", status, detail);
  // The connection only lingers now: a body read so far (a chunked upload refused with
  // 503 or 413 midway) is never used. Its claim on the thread's body memory goes back now,
  // not after the linger (up to 2 s, as long as the client keeps sending), or every upload
  // arriving meanwhile would be refused too.
  release_body_memory();
  std::vector<char>().swap(body_);
  co_return Outcome::close_lingering;
}

// After an error reply the client may still be sending (an upload we refused): closing
// at once would make the kernel answer its data with RST, which can destroy our reply
// before the client reads it. So stop writing, read and discard for a short while.
Task<void> Connection::linger() {
  if (!stream_.shutdown(SHUT_WR)) co_return;
  // While the server stops, a keep-alive client that keeps its socket open must not hold
  // the stop for 2 s: a moment covers the bytes already on their way.
  auto until = Deadline::after(thread_.draining() ? Duration(100ms) : Duration(2s));
  std::size_t discarded = 0;
  char sink[16384];
  while (discarded < 16 * 1024 * 1024) {
    auto n = co_await stream_.recv(sink, sizeof sink, until);
    if (!n || *n == 0) break;
    discarded += *n;
  }
}

Task<Outcome> Connection::read_body(const Route* route, std::uint64_t limit) {
  const RequestHead& head = parser().head();
  const std::size_t head_size = parser().head_size();
  body_.clear();
  body_view_ = {};
  body_wire_bytes_ = 0;
  // Content-Length: 0 is no body: nothing to wait for, no 100 Continue to send.
  if (head.body == BodyKind::None || (head.body == BodyKind::Length && head.content_length == 0))
    co_return Outcome::keep_going;

  // A body larger than the thread's whole budget for bodies could never be held: that is
  // 413, not a 503 whose Retry-After invites retries that cannot succeed.
  limit = std::min(limit, opts_.max_body_memory_per_thread);
  if (head.body == BodyKind::Length && head.content_length > limit)
    co_return co_await respond_error(413, "request body larger than the limit");
  // The body is claimed as it comes (below), and so is the buffer a large head or an
  // earlier request grew past a page, which it will be read into.
  if (in_.capacity() > detail::page_bytes && !claim_body_memory(in_.capacity() - detail::page_bytes))
    co_return co_await respond_error(503, bodies_over_budget);
  if (head.expect_continue) {
    if (!route) co_return Outcome::close;  // caller answers with the final status instead
    // Not inviting a body that could not be held now: a 503 instead of the 100. (A
    // chunked one's size is not known: it may get the 503 as it comes.)
    const std::uint64_t need = head_size + head.content_length;
    if (head.body == BodyKind::Length && need > in_.capacity() && !thread_.body_memory_free(need - in_.capacity()))
      co_return co_await respond_error(503, bodies_over_budget);
    out_.append("HTTP/1.1 100 Continue\r\n\r\n");
    if (!co_await flush()) co_return Outcome::close;
  }
  bool timed_out = false;
  if (head.body == BodyKind::Length) {
    const std::size_t need = head_size + static_cast<std::size_t>(head.content_length);
    while (in_.size() < need) {
      // The buffer doubles (up to the whole body) only when less than a page of it is
      // free, each growth claimed: a body declared large and sent slowly claims about what
      // came, not what it declared, so a crowd of such clients cannot hold the budget with
      // a few bytes each.
      const std::size_t want = std::min(need - in_.size(), detail::page_bytes);
      if (!make_input_room(want, need)) co_return co_await respond_error(503, bodies_over_budget);
      if (!co_await fill(turn_deadline(opts_.body_timeout), timed_out, want, need)) {
        if (timed_out) co_return co_await respond_error(408, "timed out reading the request body");
        co_return Outcome::close;
      }
    }
    parser().parse(in_.view());  // the buffer may have moved: re-point the head's views
    body_view_ = in_.view().substr(head_size, static_cast<std::size_t>(head.content_length));
    body_wire_bytes_ = static_cast<std::size_t>(head.content_length);
    co_return Outcome::keep_going;
  }
  // Chunked: decode what is buffered, read more as needed. A body_ an earlier body left
  // (up to 16 KiB) is this one's memory too.
  if (!claim_body_memory(body_.capacity()))
    co_return co_await respond_error(503, bodies_over_budget);
  Limits route_limits = opts_.limits;
  route_limits.max_body = limit;
  ChunkedDecoder dec(route_limits);
  for (;;) {
    std::string_view avail = in_.view().substr(head_size + body_wire_bytes_);
    auto step = dec.decode(avail);
    body_wire_bytes_ += step.consumed;
    switch (step.state) {
      case ChunkedDecoder::State::Data:
        if (!make_body_room(step.data.size(), dec, limit))
          co_return co_await respond_error(503, bodies_over_budget);
        body_.insert(body_.end(), step.data.begin(), step.data.end());
        continue;
      case ChunkedDecoder::State::Done:
        parser().parse(in_.view());
        body_view_ = {body_.data(), body_.size()};
        co_return Outcome::keep_going;
      case ChunkedDecoder::State::Error:
        co_return co_await respond_error(dec.error().status, dec.error().message);
      case ChunkedDecoder::State::NeedMore: break;
    }
    // NeedMore: everything after the head is decoded (its data copied to body_), so the
    // buffer goes back to holding the head alone plus one read. What the framing costs
    // on the wire never counts against the body limit, and never piles up in memory.
    in_.truncate(head_size);
    body_wire_bytes_ = 0;
    // Read into what the head leaves free; a head that leaves less than 1 KiB grows the
    // buffer, and that growth is claimed too.
    if (!make_input_room(1024)) co_return co_await respond_error(503, bodies_over_budget);
    if (!co_await fill(turn_deadline(opts_.body_timeout), timed_out, 1024)) {
      if (timed_out) co_return co_await respond_error(408, "timed out reading the request body");
      co_return Outcome::close;
    }
  }
}

// Sends the answer, then reads and drops from the front of in_ the body of the request
// answered without it (skip_kind_): false if the client does not send it whole and well
// framed (the connection then closes).
Task<bool> Connection::skip_request_body() {
  const BodyKind kind = std::exchange(skip_kind_, BodyKind::None);
  std::uint64_t length = skip_length_;
  if (!co_await flush()) co_return false;
  bool timed_out = false;
  if (kind == BodyKind::Length) {
    for (;;) {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(length, in_.size()));
      in_.consume(take);
      length -= take;
      if (length == 0) co_return true;
      if (!co_await fill(turn_deadline(opts_.body_timeout), timed_out)) co_return false;
    }
  }
  Limits route_limits = opts_.limits;
  route_limits.max_body = skip_limit_;
  ChunkedDecoder dec(route_limits);
  for (;;) {
    const auto step = dec.decode(in_.view());
    in_.consume(step.consumed);
    if (step.state == ChunkedDecoder::State::Done) co_return true;
    if (step.state == ChunkedDecoder::State::Error) co_return false;
    if (step.state == ChunkedDecoder::State::NeedMore && !co_await fill(turn_deadline(opts_.body_timeout), timed_out))
      co_return false;
  }
}

// Routed by the path's normal form, so no spelling of a path ("/x/../admin", "/%61dmin",
// "//admin") reaches a route other than the one its handler will act on. Most paths are
// in normal form already: one scan, and the match is built in place.
Router::Match Connection::route(const RequestHead& head, Request& req) {
  if (is_route_path(head.path)) return thread_.router().match(head.method, head.path, req.params());
  return route_normal_form(head, req);
}

Router::Match Connection::route_normal_form(const RequestHead& head, Request& req) {
  auto normal = route_path(head.path);
  if (!normal) return {nullptr, 400, {}};  // ".." above the root (the parser refuses bad escapes): as nginx
  routed_path_ = std::move(*normal);
  req.set_routed_path(routed_path_);
  return thread_.router().match(head.method, routed_path_, req.params());
}

Task<Outcome> Connection::handle_complete_head() {
  const RequestHead& head = parser().head();
  Request req(head, {}, fd);
  Router::Match match = route(head, req);
  const Route* route = match.route;
  const std::uint64_t limit = route && route->max_body ? route->max_body : opts_.limits.max_body;

  // Most requests have no body: skip read_body's coroutine frame for them. A request no
  // route takes (404, 405, 501) is answered at once and its body skipped afterwards
  // without being kept (as nginx discards it), unless it is over the limit (413) or
  // awaits 100 Continue (answered, then closed: the client may never send it).
  Outcome body_outcome = Outcome::keep_going;
  body_view_ = {};
  body_wire_bytes_ = 0;
  if (head.body != BodyKind::None) {
    if (!route && !head.expect_continue && !(head.body == BodyKind::Length && head.content_length > limit)) {
      skip_kind_ = head.body;
      skip_length_ = head.content_length;
      skip_limit_ = limit;
    } else {
      body_outcome = co_await read_body(route, limit);
    }
  }
  if (body_outcome == Outcome::close_lingering) co_return body_outcome;
  const bool body_unread = body_outcome == Outcome::close;  // refused 100-continue, or EOF
  if (body_unread && route) co_return Outcome::close;
  // read_body re-pointed the head at the buffer if it moved; params are owned copies.
  const RequestHead& h = parser().head();
  req.set_body(body_view_);

  const bool head_only = h.method_kind == Method::HEAD;
  const bool client_keeps_alive = h.keep_alive;  // it may send its next request before our close
  bool keep_alive = h.keep_alive && !thread_.draining() && !body_unread;
  int status = 0;
  std::uint64_t bytes = 0;

  if (!route) {
    // "OPTIONS *" asks about the server itself, not a resource (RFC 9110 §9.3.7): 200 with
    // Content-Length: 0 and nothing optional to announce. The parser allows '*' only there.
    Response r = h.target_form == TargetForm::Asterisk
                     ? Response(200)
                     : Response::error(match.status, match.status == 404   ? "no route for this path"
                                                     : match.status == 405 ? "method not allowed for this path"
                                                     : match.status == 400 ? "a .. segment of the path climbs "
                                                                             "above the root"
                                                                           : "method not implemented");
    if (match.status == 405) r.header("Allow", match.allow);
    if (match.status == 400) keep_alive = false;  // as after any request refused as malformed
    status = r.status();
    bytes = r.content_length();
    append_response_head(out_, r, h.version_minor, keep_alive, head_only);
    if (!head_only) out_.append(r.body());
  } else if (route->stream_handler) {
    if (!co_await flush()) co_return Outcome::close;
    StreamWriter writer(stream_, out_, h.version_minor, keep_alive, head_only, opts_.write_timeout,
                        h.has_preconditions ? &req : nullptr);
    try {
      co_await route->stream_handler(req, writer);
    } catch (...) {
      // A handler that throws when told its write was answered by the preconditions (as it
      // might when a client is gone) has already been answered: not a failure.
      if (!writer.answered_by_preconditions()) {
        log_handler_failure(*route);
        writer.fail();
      }
    }
    co_await writer.finish();
    status = writer.status_sent();
    bytes = writer.bytes_sent();
    keep_alive = keep_alive && writer.connection_reusable();
  } else {
    Response r = co_await HandlerCall(*route, req);
    if (h.has_preconditions) apply_preconditions(req, r);
    // Re-check draining: a drain that began while the handler ran closes this connection
    // after the response, so the response must say so (RFC 9112 §9.6), or the client may
    // pipeline another request onto a connection we are about to close.
    keep_alive = keep_alive && !r.wants_close() && !thread_.draining();
    if (r.status() == 205) {  // no content, and Content-Length: 0 says so (RFC 9110 §15.3.6)
      r.body().clear();
      r.file(FileBody{});
    }
    status = r.status();
    bytes = status_forbids_body(status) ? 0 : r.content_length();  // a 304 keeps its file, unsent
    append_response_head(out_, r, h.version_minor, keep_alive, head_only);
    if (!head_only && !status_forbids_body(r.status())) {
      // A reply sent here that fails still gets its access log line, with the body bytes
      // that went out (nginx logs aborted downloads too).
      const auto cut_short = [&](std::uint64_t sent) {
        if (opts_.access_log) write_access_log(peer_host_, req, status, sent);
        return Outcome::close;
      };
      if (const FileBody* f = r.file_body()) {
        if (r.file_parts().empty() && f->length <= small_file_limit) {
          // The common small file: read it behind the head, one write for both.
          if (!co_await read_small_file_into(out_, *f)) co_return cut_short(0);
        } else {
          std::uint64_t sent = 0;
          if (!co_await flush(/*more_follows=*/true)) co_return cut_short(0);
          if (!notsent_lowat_set_) {  // once per connection: a system call per file was 3-4% of a 256 KiB one
            (void)stream_.socket().set_option(IPPROTO_TCP, TCP_NOTSENT_LOWAT, static_cast<int>(notsent_lowat));
            notsent_lowat_set_ = true;
          }
          if (!co_await send_file_response(stream_, r, *f, opts_.write_timeout, sent)) co_return cut_short(sent);
        }
      } else if (r.body().size() > 64 * 1024) {
        // Large bodies go out from the handler's own string: no copy into out_.
        iovec iov[2] = {{out_.data(), out_.size()}, {r.body().data(), r.body().size()}};
        auto sent = co_await stream_.writev_all(iov, opts_.write_timeout);
        out_.clear();
        if (!sent) co_return cut_short(r.body().size() - iov[1].iov_len);  // advanced past what went
      } else {
        out_.append(r.body());
      }
    }
  }
  if (opts_.access_log) write_access_log(peer_host_, req, status, head_only ? 0 : bytes);
  ++served_;
  in_.consume(parser().head_size() + body_wire_bytes_);
  parser().reset();
  if (body_claim_) release_body_memory();
  if (skip_kind_ != BodyKind::None) {
    if (!keep_alive) {
      skip_kind_ = BodyKind::None;
      co_return Outcome::close_lingering;  // linger() discards it
    }
    // A body that turns out malformed or too long: its client may still be sending, and a
    // close with input unread would reset the reply away (RFC 9112 §9.6). A write error or
    // an EOF ends the linger at once.
    if (!co_await skip_request_body()) co_return Outcome::close_lingering;
  }
  if (keep_alive) co_return Outcome::keep_going;
  // Closing with input unread, or input still coming, makes the kernel answer it with RST,
  // which can destroy the end of the reply before the client reads it (RFC 9112 §9.6): a
  // refused 100-continue whose client sent the body anyway, requests pipelined behind a
  // "Connection: close", and a client that asked to keep the connection but is closed on
  // (a close-delimited reply to HTTP/1.0, a handler's wants_close, a drain) and may be
  // sending its next request. Linger then, as nginx does; a client that asked for the
  // close and sent nothing more is closed at once. "Nothing more" includes what is not
  // read yet: bytes behind a body read to its end, or behind a head that filled in_. A
  // shorter last read found the socket empty where the backend can tell so, and then no
  // system call is made (one per closed connection was 5% of a `Connection: close`
  // request on io_uring).
  const bool more_may_come = body_unread || !in_.empty() || client_keeps_alive ||
                             stream_.input_waiting(/*after_short_read=*/!last_read_full_);
  co_return more_may_come ? Outcome::close_lingering : Outcome::close;
}

Task<void> Connection::run() {
  Deadline header_deadline;
  bool timed_out = false;
  for (;;) {
    if (in_.empty()) {
      // Between requests: send what the last read produced (flush(), inline), then wait
      // idle.
      bool sent_all = true;
      for (std::size_t sent = 0; sent < out_.size();) {
        const int n = co_await send_out(sent);
        if (n <= 0) {
          sent_all = false;
          break;
        }
        sent += static_cast<std::size_t>(n);
      }
      out_sent();
      if (!sent_all) break;
      // Draining: a connection that has been answered closes; one accepted during the
      // drain still gets its (first) request served.
      if (thread_.draining() && served_ > 0) break;
      // No byte of a request is buffered: drain() may end this connection's reading.
      idle = true;
      idle_since = Scheduler::current().turn_started();
      // Most keep-alive requests follow soon: wait with the buffer in place first (inline:
      // no frame per request); a connection idle for longer goes to wait_idle.
      const Deadline idle_deadline = turn_deadline(opts_.idle_timeout);
      const Deadline fast{std::min(idle_deadline.at, turn_deadline(opts_.idle_release_after).at)};
      bool got = co_await fill(fast, timed_out);
      if (!got && timed_out && !idle_deadline.expired()) got = co_await wait_idle(idle_deadline, timed_out);
      idle = false;
      if (!got) break;
      header_deadline = turn_deadline(opts_.header_timeout);
    }
    ParseResult pr = parser().parse(in_.view());
    if (pr == ParseResult::NeedMore) {
      // The client may be waiting for earlier responses before it sends more.
      if (!co_await flush()) break;
      if (!co_await fill(header_deadline, timed_out)) {
        if (timed_out) {
          (void)co_await respond_error(408, "timed out reading the request head");
          (void)co_await flush();
        }
        break;
      }
      continue;
    }
    if (pr == ParseResult::Error) {
      (void)co_await respond_error(parser().error().status, parser().error().message);
      if (co_await flush()) co_await linger();
      break;
    }
    Outcome o = co_await handle_complete_head();
    if (o == Outcome::close_lingering) {
      if (co_await flush()) co_await linger();
      break;
    }
    if (o == Outcome::close) {
      (void)co_await flush();
      break;
    }
    // A buffer grown for a body or a large head goes once they are consumed, also when it
    // holds bytes read with the body's end (a pipelined request): a client that keeps a
    // byte of its next request pending would hold up to max_body per connection, outside
    // the body budget, and one large request would cost an active keep-alive connection
    // ~64 KiB for the rest of its life.
    if (in_.capacity() > 16 * 1024 && in_.size() <= in_.capacity() / 4) in_.shrink();
    // Bound the memory a deep pipeline can make us hold.
    if (out_.size() > 64 * 1024 && !co_await flush()) break;
    if (!in_.empty()) header_deadline = turn_deadline(opts_.header_timeout);
  }
  co_await stream_.close();
}

}  // namespace

Task<void> serve_connection(TcpStream stream, ServerThread& thread) {
  Connection c(std::move(stream), thread);
  co_await c.run();
}

}  // namespace hellepoll::http
