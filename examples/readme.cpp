// README.md's first example, built with the others so that it keeps compiling; a test
// (tests/http/e2e_tests.cpp) checks that README.md still shows exactly this.
#include <fmt/format.h>
#include <hellepoll/http/server.hpp>
#include <hellepoll/sleep.hpp>
using namespace hellepoll;
using namespace hellepoll::http;

int main() {
  Router router;
  router.get("/", [](Request&) -> Task<Response> { co_return Response::text("Hello, World!"); });
  router.get("/users/{id}", [](Request& req) -> Task<Response> {
    co_await sleep_for(std::chrono::milliseconds(1));  // any awaitable: I/O, timers, other tasks
    co_return Response::text(fmt::format("user {}\n", req.param("id")));  // JSON: escape it first (examples/api.cpp)
  });
  return Server(std::move(router), ServerOptions{}).run();  // SIGINT/SIGTERM: graceful stop
}
