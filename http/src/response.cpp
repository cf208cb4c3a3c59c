#include "hellepoll/http/response.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "hellepoll/http/parse_error.hpp"
#include "hellepoll/http/status.hpp"
#include "hellepoll/io.hpp"

namespace hellepoll::http {
namespace {

using detail::iequals;

// Response splitting is impossible if no value can contain CR or LF.
void check_field(std::string_view name, std::string_view value) {
  if (name.empty()) throw std::invalid_argument("empty header name");
  for (unsigned char c : name)
    if (!detail::has(c, detail::kTchar)) throw std::invalid_argument("header name is not a token: " + std::string(name));
  for (unsigned char c : value)
    if (c == '\r' || c == '\n' || c == '\0')
      throw std::invalid_argument("header value contains CR, LF or NUL: " + std::string(name));
}

}  // namespace

Response& Response::operator=(Response&& o) noexcept {
  if (this != &o) {
    this->~Response();
    new (this) Response(std::move(o));
  }
  return *this;
}

void release_file(int fd, SharedFd* shared) noexcept {
  if (shared) {
    if (--shared->users > 0) return;
    delete shared;
  }
  if (fd >= 0) io::close_detached(fd);
}

Response Response::text(std::string body, int status) {
  return Response(status, "text/plain; charset=utf-8", std::move(body));
}

Response Response::html(std::string body, int status) {
  return Response(status, "text/html; charset=utf-8", std::move(body));
}

Response Response::json(std::string body, int status) {
  return Response(status, "application/json", std::move(body));
}

Response Response::error(int status, std::string_view detail) {
  std::string body;
  body.reserve(64 + detail.size());
  body.append(std::to_string(status)).append(" ").append(reason_phrase(status));
  if (!detail.empty()) body.append(": ").append(detail);
  body.push_back('\n');
  return text(std::move(body), status);
}

int Response::checked_status(int status) {
  if (status < 200 || status > 599)
    throw std::invalid_argument("response status " + std::to_string(status) + " is not a final status (200-599)");
  return status;
}

Response& Response::header(std::string_view name, std::string_view value) & {
  check_field(name, value);
  if (iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "connection"))
    throw std::invalid_argument("the framework sets " + std::string(name) + " itself");
  if (iequals(name, "content-type")) return content_type(value);
  if (iequals(name, "date")) has_date_ = true;
  if (iequals(name, "server")) has_server_ = true;
  append_field(name, value);
  return *this;
}

void Response::append_field(std::string_view name, std::string_view value) {
  // One allocation for the usual few fields rather than a reallocation at each doubling.
  const std::size_t need = headers_.size() + name.size() + value.size() + 4;
  if (need > headers_.capacity()) headers_.reserve(std::max({need, 2 * headers_.capacity(), std::size_t{128}}));
  headers_.append(name).append(": ").append(value).append("\r\n");
}

Response& Response::content_type(std::string_view type) & {
  check_field("Content-Type", type);
  std::string& owned = extras().owned_type;
  owned.assign(type);
  content_type_ = owned;
  return *this;
}

Response::Extras& Response::extras() {
  if (!extras_) extras_ = std::make_unique<Extras>();
  return *extras_;
}

const std::vector<FilePart>& Response::file_parts() const noexcept {
  static const std::vector<FilePart> none;
  return extras_ ? extras_->parts : none;
}

const std::string& Response::file_trailer() const noexcept {
  static const std::string none;
  return extras_ ? extras_->trailer : none;
}

Response& Response::file(FileBody f) & noexcept {
  if (file_.fd >= 0 && (file_.fd != f.fd || file_.shared != f.shared)) release_file(file_.fd, file_.shared);
  file_ = f;
  return *this;
}

Response& Response::file_parts(FileBody f, std::vector<FilePart> parts, std::string trailer) & {
  file(FileBody{f.fd, 0, 0, f.shared});
  Extras& e = extras();
  e.parts = std::move(parts);
  e.trailer = std::move(trailer);
  return *this;
}

std::uint64_t Response::content_length() const noexcept {
  if (file_.fd < 0) return body_.size();
  if (!extras_ || extras_->parts.empty()) return file_.length;
  std::uint64_t n = extras_->trailer.size();
  for (const FilePart& p : extras_->parts) n += p.header.size() + p.length;
  return n;
}

}  // namespace hellepoll::http
