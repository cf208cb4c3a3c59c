// The writer a streaming handler gets. The head goes out with the first write: chunked
// on HTTP/1.1, close-delimited on HTTP/1.0. Each write() is one chunk on the wire.
//
//   router.get_stream("/ticks", [](Request&, ResponseStream& out) -> Task<void> {
//     out.content_type("text/plain");
//     for (int i = 0; i < 3; ++i) co_await out.write(fmt::format("tick {}\n", i));
//   });
#pragma once

#include <string>
#include <string_view>

#include "hellepoll/http/response.hpp"
#include "hellepoll/net/result.hpp"
#include "hellepoll/task.hpp"

namespace hellepoll::http {

class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Before the first write only.
  virtual void status(int s) = 0;
  virtual void header(std::string_view name, std::string_view value) = 0;
  virtual void content_type(std::string_view type) = 0;
  // Sends `data` (the head first, if not sent yet). An error means the client is gone, or
  // (operation_canceled) that the request's conditions answered it from the head set so
  // far, as for a buffered reply: a 200 to GET or HEAD whose ETag or Last-Modified meets
  // If-None-Match / If-Modified-Since went out as 304, one that fails If-Match /
  // If-Unmodified-Since as 412. Either way the handler should return.
  virtual Task<Result<void>> write(std::string_view data) = 0;
  virtual bool head_sent() const noexcept = 0;
};

}  // namespace hellepoll::http
