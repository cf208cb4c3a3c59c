// Routes requests by method and path. Patterns, tried in this order:
//   "/about"          exact
//   "/users/{id}"     {name} segments (the value is available as req.param("id"))
//   "/static/*"       prefix (stem): the longest matching prefix wins
//   add_regex(...)    a std::regex (ECMAScript) over the whole path, as the last resort;
//                     matched in linear time without recursing per byte, so no path can
//                     exhaust the stack (with libstdc++); back-references are refused
//                     (std::regex_error)
// Among {name} routes that fit one path, the first added wins. No route for the path:
// 404. A route for the path but not for the method: 405 with an Allow header. A method no
// route knows: 501. HEAD is served by GET routes.
// add() throws std::invalid_argument for what would not match as it reads: a method
// that is not a token or a known one in lower case ("get"), a query in the pattern, a
// {name} that is not a whole segment or appears twice, a "*" segment other than the
// last, {name} segments before a trailing "*" (not supported), and a method and pattern
// added twice (parameter names aside). A '*' inside a segment is a literal '*'.
#pragma once

#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "hellepoll/http/request.hpp"
#include "hellepoll/http/response.hpp"
#include "hellepoll/http/response_stream.hpp"
#include "hellepoll/task.hpp"

namespace hellepoll::http {

using Handler = std::function<Task<Response>(Request&)>;
using StreamHandler = std::function<Task<void>(Request&, ResponseStream&)>;

struct Route {
  std::string method;   // "GET", ... or "*" for any method
  std::string pattern;  // as registered, for logs
  Handler handler;
  StreamHandler stream_handler;
  std::uint64_t max_body = 0;  // 0: the server's limit
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  Route& add(std::string_view method, std::string_view pattern, Handler h);
  Route& add_stream(std::string_view method, std::string_view pattern, StreamHandler h);
  Route& add_regex(std::string_view method, std::string_view regex, Handler h);
  Route& get(std::string_view pattern, Handler h) { return add("GET", pattern, std::move(h)); }
  Route& post(std::string_view pattern, Handler h) { return add("POST", pattern, std::move(h)); }
  Route& put(std::string_view pattern, Handler h) { return add("PUT", pattern, std::move(h)); }
  Route& del(std::string_view pattern, Handler h) { return add("DELETE", pattern, std::move(h)); }
  Route& get_stream(std::string_view pattern, StreamHandler h) { return add_stream("GET", pattern, std::move(h)); }
  // The largest Route::max_body set (0 if none).
  std::uint64_t largest_max_body() const noexcept;

  struct Match {
    const Route* route = nullptr;  // null: see status
    int status = 200;              // 404, 405 or 501 when route is null
    std::string allow;             // for 405: "GET, HEAD"
  };
  // Fills `params` with the {name} values of the matching route.
  Match match(std::string_view method, std::string_view path,
              std::vector<std::pair<std::string, std::string>>& params) const;

 private:
  struct Entry;
  Route& insert(std::string_view method, std::string_view pattern, int kind);
  [[gnu::noinline]] Match match_other_kinds(std::string_view method, std::string_view path,
                                            std::vector<std::pair<std::string, std::string>>& params) const;
  std::vector<std::unique_ptr<Entry>> entries_;
  // Exact-path routes grouped by path, each group's routes in the order they were added,
  // groups sorted by (length, bytes): most requests are answered from here without
  // looking at the other routes, by a binary search of inline compares (a hash map's
  // murmur hash and memcmp calls were ~100 instructions of a request). Keys point into
  // the entries.
  struct ExactPath {
    std::string_view path;
    std::vector<const Entry*> routes;
  };
  std::vector<ExactPath> exact_;
};

}  // namespace hellepoll::http
