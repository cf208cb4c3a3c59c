// The HTTP/1.1 request-head parser: a resumable state machine over the connection's
// buffer, strict per RFC 9112 and RFC 9110, with no I/O and no allocation per request.
//
// Contract: the connection keeps the current request head contiguous and calls
// parse(data) whenever more bytes arrive. `data` always starts at the first byte of the
// request and holds the same bytes as before plus possibly more; it may live at a new
// address each time (the buffer may have been moved or compacted: the views kept so far
// are moved with it), and the parser resumes where it stopped, so a head costs O(n)
// however it is split. Bytes after the head (body, next pipelined request) are left alone.
//
//   RequestParser parser(limits);
//   switch (parser.parse(buffered)) {
//     case ParseResult::NeedMore: read more and call again;
//     case ParseResult::Complete: use parser.head(); the body starts at parser.head_size();
//     case ParseResult::Error: answer parser.error().status and close;
//   }
//   parser.reset();  // before the next request on the connection
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hellepoll/http/parse_error.hpp"

namespace hellepoll::http {

// Methods are case-sensitive (RFC 9110 §9.1): "get" is a valid token but is Other.
enum class Method : std::uint8_t { GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE, CONNECT, Other };

// How the request body is delimited (RFC 9112 §6.3): no body, Content-Length bytes, or
// chunked. Length with content_length == 0 means "Content-Length: 0" was sent.
enum class BodyKind : std::uint8_t { None, Length, Chunked };

// The four request-target forms of RFC 9112 §3.2.
enum class TargetForm : std::uint8_t { Origin, Absolute, Authority, Asterisk };

struct Header {
  std::string_view name;   // as received (case preserved)
  std::string_view value;  // leading and trailing OWS removed
};

// Views into the bytes last passed to RequestParser::parse(), valid while those bytes are.
struct RequestHead {
  std::string_view method;
  Method method_kind = Method::Other;
  std::string_view target;  // raw request-target, not percent-decoded
  TargetForm target_form = TargetForm::Origin;
  // Origin/absolute form: the path ("/" when an absolute-form target has none) and the
  // query after '?' (empty if none). Asterisk form: path is "*". Authority form: empty.
  std::string_view path;
  std::string_view query;
  int version_minor = 1;  // HTTP/1.<version_minor>, 0 or 1
  std::span<const Header> headers;

  BodyKind body = BodyKind::None;
  std::uint64_t content_length = 0;  // meaningful when body == BodyKind::Length
  bool keep_alive = true;
  bool expect_continue = false;  // "Expect: 100-continue" on an HTTP/1.1 request
  // If-Match, If-None-Match, If-Modified-Since or If-Unmodified-Since is present.
  bool has_preconditions = false;
  // The Host header value, or for an absolute-form target its authority (RFC 9112 §3.2.2).
  std::string_view host;

  // First field with this name, compared case-insensitively (RFC 9110 §5.1).
  std::optional<std::string_view> find(std::string_view name) const noexcept;
  // Every line of a list-valued field as one value (RFC 9110 §5.3: "a, b" on one line and
  // "a" then "b" on two mean the same). With several lines the value is built in `joined`
  // and the view points there; nullopt when the field is absent.
  std::optional<std::string_view> find_list(std::string_view name, std::string& joined) const;
};

enum class ParseResult : std::uint8_t { NeedMore, Complete, Error };

class RequestParser {
 public:
  // Allocates header storage for a usual head (24 fields) up front, from `memory`; a
  // larger head grows it (never past limits.max_headers) and reset() keeps what was grown.
  explicit RequestParser(const Limits& limits,
                         std::pmr::memory_resource* memory = std::pmr::get_default_resource());

  // Scans what is new in `data` (see the contract above). After Complete or Error the
  // result is sticky until reset(); calling again with Complete re-points head() at `data`.
  ParseResult parse(std::string_view data) noexcept;

  // Forgets the current request; keeps the header storage.
  void reset() noexcept;

  // Valid after Complete.
  const RequestHead& head() const noexcept { return head_; }
  // Bytes of `data` the head occupies, leading empty lines and final CRLF included.
  std::size_t head_size() const noexcept { return head_size_; }
  // Valid after Error.
  const ParseError& error() const noexcept { return error_; }
  // The request's method once its request line got that far, also after Error (an error
  // reply to HEAD has no body); Method::Other before.
  Method method_so_far() const noexcept { return s_.method.len ? s_.method_kind : Method::Other; }
  // The request line as received so far in `data` (what parse() was given), from its first
  // byte up to its CR or LF or the end: what the access log shows of a refused request.
  std::string_view line_so_far(std::string_view data) const noexcept;
  const Limits& limits() const noexcept { return limits_; }

 private:
  enum class State : std::uint8_t {
    Leading,        // before the request line: empty lines are skipped (RFC 9112 §2.2)
    LeadingLF,
    Method,
    Target,
    Version,
    RequestLineLF,
    FieldStart,     // start of a field line, or the CR of the empty line ending the head
    Name,
    ValueOws,
    Value,
    ValueLF,
    FinalLF,
    Done,
    Failed,
  };

  // Offsets into `data`; 32 bits suffice because the head is capped below 4 GiB.
  struct Slice {
    std::uint32_t off = 0;
    std::uint32_t len = 0;
  };

  // Everything that describes the request in progress; reset() restores the defaults.
  // All defaults are zero so that reset is a plain clear; fields are set before use.
  struct Progress {
    std::size_t pos = 0;         // next byte to scan
    std::size_t line_start = 0;  // first byte of the request line
    std::size_t tok_start = 0;   // first byte of the token being scanned
    std::size_t name_start = 0;
    std::size_t name_end = 0;
    std::size_t value_end = 0;   // after the last non-OWS byte of the value
    std::size_t field_count = 0;
    unsigned leading_lines = 0;

    Slice method;
    Slice target;
    Slice path;
    Slice query;
    Slice authority;  // absolute-form only
    Method method_kind{};  // set when the method ends
    TargetForm form{};     // set when the target ends
    bool path_is_root = false;  // absolute-form without a path: the path is "/"
    bool pri_asterisk = false;  // "PRI *": refused once the version says which way
    int version_minor = 0;      // set when the version ends

    std::uint64_t content_length = 0;
    Slice host;
    unsigned host_count = 0;
    bool has_content_length = false;
    bool has_transfer_encoding = false;
    bool te_chunked = false;  // chunked seen; any coding after it is already an error
    bool te_other = false;    // a coding other than chunked seen (before chunked)
    bool conn_close = false;
    bool conn_keep_alive = false;
    bool expect_continue = false;
    bool expect_other = false;
    bool has_preconditions = false;
  };

  ParseResult fail(int status, std::string_view message) noexcept;
  bool reject(int status, std::string_view message) noexcept;  // fail(), for bool helpers
  // The bytes ran out at `pos` in `state`: remember both for the next call (NeedMore).
  ParseResult suspend(State state, std::size_t pos) noexcept;
  bool finish_target(std::string_view data) noexcept;
  // Inlined into parse(): called once per field line, its call cost more than most fields'
  // work (a store and one switch).
  [[gnu::always_inline]] inline bool finish_field(std::string_view data) noexcept;
  bool finish_head() noexcept;
  bool on_content_length(std::string_view value) noexcept;
  bool on_transfer_encoding(std::string_view value) noexcept;
  bool on_host(std::string_view value, Slice where) noexcept;
  void on_connection(std::string_view value) noexcept;
  void on_expect(std::string_view value) noexcept;
  void materialize(std::string_view data) noexcept;
  void rebase(const char* data) noexcept;

  Limits limits_;
  // The field lines so far, as views into the bytes of the last call (base_). Grows from
  // 24 up to max_headers and never shrinks.
  std::pmr::vector<Header> headers_;
  const char* base_ = nullptr;  // data.data() of the last call
  Progress s_;
  State state_ = State::Leading;
  std::size_t head_size_ = 0;
  RequestHead head_;
  ParseError error_;
};

}  // namespace hellepoll::http
