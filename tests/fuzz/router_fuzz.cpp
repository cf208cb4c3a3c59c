// Routing arbitrary methods and paths never crashes and never returns a route whose
// method cannot serve the request.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hellepoll/http/router.hpp"

using namespace hellepoll;
using namespace hellepoll::http;

namespace {
// Never called: matching is what is fuzzed. Not a coroutine, so this file needs no
// coroutine coverage instrumentation (see CMakeLists.txt).
Task<Response> ok(Request&) { return Task<Response>{}; }

const Router& router() {
  static Router r = [] {
    Router x;
    x.get("/", ok);
    x.get("/users/{id}", ok);
    x.get("/users/{id}/posts/{post}", ok);
    x.post("/users", ok);
    x.get("/static/*", ok);
    x.add("*", "/any", ok);
    x.add_regex("GET", "/re/[0-9]+", ok);
    return x;
  }();
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto sp = in.find(' ');
  if (sp == std::string_view::npos) return 0;
  std::string_view method = in.substr(0, sp), path = in.substr(sp + 1);
  std::vector<std::pair<std::string, std::string>> params;
  auto m = router().match(method, path, params);
  if (m.route) {
    const std::string& rm = m.route->method;
    if (rm != "*" && rm != method && !(method == "HEAD" && rm == "GET")) std::abort();
  } else if (m.status != 404 && m.status != 405 && m.status != 501) {
    std::abort();
  } else if (m.status == 405 && m.allow.empty()) {
    std::abort();
  }
  return 0;
}
