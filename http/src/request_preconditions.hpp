// A request's conditional fields (RFC 9110 §13.1), read once for static files and for
// handlers' responses alike.
#pragma once

#include <string>

#include "hellepoll/http/conditional.hpp"
#include "hellepoll/http/request.hpp"
#include "hellepoll/http/response.hpp"

namespace hellepoll::http::detail {

// The four precondition fields of `req`, each with all its lines (RFC 9110 §5.3). An
// If-Match or If-None-Match that is there but empty is a list with no members, which
// matches nothing, so it reads as ",": an empty view means the field is absent. Two
// If-Modified-Since lines are a list of dates, which is no HTTP-date, so that
// precondition is ignored (§13.1.3) where taking the first line would honour it.
struct RequestConditionals {
  explicit RequestConditionals(const Request& req);
  RequestConditionals(const RequestConditionals&) = delete;
  RequestConditionals& operator=(const RequestConditionals&) = delete;

 private:
  std::string joined_[4];  // where fields on several lines are joined: before `fields`, which points into it

 public:
  ConditionalHeaders fields;
};

// A handler's 200 to a GET or HEAD of a request with preconditions
// (RequestHead::has_preconditions), judged against the validators the handler set (its
// ETag and Last-Modified fields) as static files are: 412 when If-Match or
// If-Unmodified-Since fails, 304 when If-None-Match or If-Modified-Since says the client
// has it. Without an ETag only If-Match: * passes and only If-None-Match: * matches
// (§13.1.1-2); without a Last-Modified the date fields are ignored (§13.1.3-4). Other
// methods have had their effect by the time the response exists: the handler checks
// those itself (evaluate_preconditions in conditional.hpp).
void apply_preconditions(const Request& req, Response& r);

}  // namespace hellepoll::http::detail
