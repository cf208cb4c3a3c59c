// What a handler sees of a request: the parsed head (views into the connection's buffer,
// valid for the duration of the handler), the route's {parameters} and the body.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hellepoll/http/parser.hpp"
#include "hellepoll/net/address.hpp"

namespace hellepoll::http {

class Request {
 public:
  Request(const RequestHead& head, std::string_view body, int fd) noexcept : head_(&head), body_(body), fd_(fd) {}

  std::string_view method() const noexcept { return head_->method; }
  Method method_kind() const noexcept { return head_->method_kind; }
  std::string_view target() const noexcept { return head_->target; }
  // The path routed by: the request's, in normal form (route_path in path.hpp), so
  // "/a/../b" and "/%62" are "/b" here. target() keeps what the client sent.
  std::string_view path() const noexcept { return routed_path_.data() ? routed_path_ : head_->path; }
  std::string_view query() const noexcept { return head_->query; }
  int version_minor() const noexcept { return head_->version_minor; }
  std::string_view host() const noexcept { return head_->host; }
  bool keep_alive() const noexcept { return head_->keep_alive; }

  // First header with this name, case-insensitive.
  std::optional<std::string_view> header(std::string_view name) const noexcept { return head_->find(name); }
  std::span<const Header> headers() const noexcept { return head_->headers; }
  // Every line of a list-valued header (Accept, If-None-Match...) as one value joined with
  // ", " (RFC 9110 §5.3); built in `joined` only when there are several lines.
  std::optional<std::string_view> header_list(std::string_view name, std::string& joined) const {
    return head_->find_list(name, joined);
  }

  // A {name} segment of the route that matched, percent-decoded; empty if the route has
  // no {name}. Never empty otherwise: a {parameter} matches only a non-empty segment
  // ("/users/" does not reach "/users/{id}"), and no escape decodes to nothing, so empty
  // and absent need no telling apart.
  std::string_view param(std::string_view name) const noexcept {
    for (const auto& [k, v] : params_)
      if (k == name) return v;
    return {};
  }
  // The first value of `name` in the query string, decoded as HTML form data does
  // ("a=1&b=x+y%21": "b" is "x y!"; a name alone, "flag", has the empty value);
  // nullopt if absent. A pair with a malformed escape ("%zz") is skipped.
  std::optional<std::string> query_param(std::string_view name) const;
  // The request body, complete (chunked bodies are already decoded).
  std::string_view body() const noexcept { return body_; }
  // The client's address (looked up on first use: most handlers never ask).
  const SocketAddress& peer() const;
  const RequestHead& head() const noexcept { return *head_; }

  void set_body(std::string_view body) noexcept { body_ = body; }
  // Set by the server when the routed path differs from the head's (it owns the bytes).
  void set_routed_path(std::string_view path) noexcept { routed_path_ = path; }
  // Set by the router.
  std::vector<std::pair<std::string, std::string>>& params() noexcept { return params_; }

 private:
  const RequestHead* head_;
  std::string_view body_;
  std::string_view routed_path_;  // null: the head's path is in normal form
  int fd_;
  mutable std::optional<SocketAddress> peer_;
  std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace hellepoll::http
