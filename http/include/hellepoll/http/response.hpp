// A buffered response: status, headers, body. The framework adds Content-Length, Date,
// Server and Connection, so a handler cannot send framing headers twice or contradict
// them.
//
//   co_return Response::text("Hello, World!");
//   co_return Response::json(R"({"ok":true})", 201).header("Location", "/items/7");
//
// The status is a final one, 200 to 599 (std::invalid_argument otherwise): interim 1xx
// replies are the server's own (100 Continue), and 101 would need a protocol switch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hellepoll::http {

namespace detail {
struct TrustedFields;
}

// An open file that several responses on one thread send at the same time (requests for
// one file that came in together share its open: see static_files). Each response holds
// one of its users; the last to let go closes the fd. Not thread-safe, as it need not be.
struct SharedFd {
  int fd = -1;
  std::uint32_t users = 0;
};

// A byte range of an open file to send as (part of) the body, by sendfile/splice or
// pooled reads. The response owns the fd and closes it; with `shared` set, it holds one
// user of that SharedFd instead.
struct FileBody {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  SharedFd* shared = nullptr;
};

// Lets go of a file as a FileBody owns it: closes `fd`, or drops one user of `shared`.
void release_file(int fd, SharedFd* shared) noexcept;

// One part of a multipart/byteranges body: its delimiter and headers, then a file range.
struct FilePart {
  std::string header;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

class Response {
 public:
  explicit Response(int status = 200) : status_(checked_status(status)) {}
  // Inline: a response is moved twice and destroyed three times on its way from a
  // handler to the socket, and out of line these were ~200 instructions of a request.
  // An owned content type lives in *extras_, which moves as a whole: content_type_ stays
  // valid.
  Response(Response&& o) noexcept
      : status_(o.status_),
        has_date_(o.has_date_),
        has_server_(o.has_server_),
        close_(o.close_),
        content_type_(std::exchange(o.content_type_, {})),  // may point into extras_
        headers_(std::move(o.headers_)),
        body_(std::move(o.body_)),
        file_(std::exchange(o.file_, FileBody{})),
        extras_(std::move(o.extras_)) {}
  Response& operator=(Response&&) noexcept;
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;
  ~Response() {
    if (file_.fd >= 0) release_file(file_.fd, file_.shared);
  }

  static Response text(std::string body, int status = 200);
  static Response html(std::string body, int status = 200);
  static Response json(std::string body, int status = 200);
  // A short text/plain reply whose body is the reason phrase plus an optional detail.
  static Response error(int status, std::string_view detail = {});

  // Adds a header. Throws std::invalid_argument for a name that is not a token, a value
  // with CR, LF or NUL, or a header the framework owns (Content-Length,
  // Transfer-Encoding, Connection).
  Response& header(std::string_view name, std::string_view value) &;
  Response& content_type(std::string_view type) &;
  Response& body(std::string b) & noexcept {
    body_ = std::move(b);
    return *this;
  }
  Response& status(int s) & {
    status_ = checked_status(s);
    return *this;
  }
  // On a temporary (`co_return Response::json(...).header(...)`), the same, returning it
  // to be moved on.
  Response&& header(std::string_view name, std::string_view value) && { return std::move(header(name, value)); }
  Response&& content_type(std::string_view type) && { return std::move(content_type(type)); }
  Response&& body(std::string b) && noexcept { return std::move(body(std::move(b))); }
  Response&& status(int s) && { return std::move(status(s)); }
  // The body is this range of a file instead of body(); takes ownership of the fd.
  Response& file(FileBody f) & noexcept;
  Response&& file(FileBody f) && noexcept { return std::move(file(f)); }
  // A multipart body: each part's text then its range of `file`, then `trailer` (the
  // closing delimiter). Takes ownership of the file as file() does; the parts give the
  // ranges, so `file`'s own offset and length are not used.
  Response& file_parts(FileBody file, std::vector<FilePart> parts, std::string trailer) &;
  Response&& file_parts(FileBody f, std::vector<FilePart> parts, std::string trailer) && {
    return std::move(file_parts(f, std::move(parts), std::move(trailer)));
  }
  // Asks the connection to close after this response.
  Response& close_connection() & noexcept {
    close_ = true;
    return *this;
  }
  Response&& close_connection() && noexcept { return std::move(close_connection()); }

  int status() const noexcept { return status_; }
  const std::string& body() const noexcept { return body_; }
  std::string& body() noexcept { return body_; }
  std::string_view content_type() const noexcept { return content_type_; }
  const std::string& extra_headers() const noexcept { return headers_; }  // "Name: value\r\n"...
  bool has_date() const noexcept { return has_date_; }
  bool has_server() const noexcept { return has_server_; }
  bool wants_close() const noexcept { return close_; }
  const FileBody* file_body() const noexcept { return file_.fd >= 0 ? &file_ : nullptr; }
  const std::vector<FilePart>& file_parts() const noexcept;
  const std::string& file_trailer() const noexcept;
  // The length Content-Length will announce.
  std::uint64_t content_length() const noexcept;

 private:
  friend struct detail::TrustedFields;
  void append_field(std::string_view name, std::string_view value);
  static int checked_status(int status);

  // text(), html(), json(): the body is moved in once, not default-constructed first.
  Response(int status, std::string_view type, std::string&& body)
      : status_(checked_status(status)), content_type_(type), body_(std::move(body)) {}

  int status_;
  bool has_date_ = false;
  bool has_server_ = false;
  bool close_ = false;
  // What most responses never use lives behind a pointer: a response is moved several
  // times on its way from the handler to the socket, and each move touches every member.
  struct Extras {
    std::string owned_type;
    std::vector<FilePart> parts;
    std::string trailer;
  };
  Extras& extras();

  std::string_view content_type_;  // points at a literal or at extras_->owned_type
  std::string headers_;
  std::string body_;
  FileBody file_;
  std::unique_ptr<Extras> extras_;
};

}  // namespace hellepoll::http
