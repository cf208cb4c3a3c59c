// The smallest hellepoll HTTP server, and the one every benchmark uses:
// GET / answers "Hello, World!" as text/plain.
//
//   build/examples/hello --port 8080 --threads 1 --backend uring --access-log off
#include <fmt/core.h>

#include <hellepoll/http/cli.hpp>
#include <hellepoll/http/server.hpp>

using namespace hellepoll;
using namespace hellepoll::http;

Task<Response> hello(Request&) { co_return Response::text("Hello, World!"); }

int main(int argc, char** argv) {
  ServerOptions options;
  auto cli = parse_server_flags(argc, argv, options);
  if (cli.help || !cli.ok || !cli.positional.empty()) {
    if (!cli.ok) fmt::print(stderr, "hello: {}\n", cli.error);
    else if (!cli.positional.empty()) fmt::print(stderr, "hello: unexpected argument '{}'\n", cli.positional[0]);
    fmt::print(cli.help ? stdout : stderr, "usage: hello [flags]\n{}", server_flags_help());
    return cli.help ? 0 : 2;
  }

  Router router;
  router.get("/", hello);

  Server server(std::move(router), options);
  server.on_listening = [](const SocketAddress& at, std::string_view backend, unsigned threads) {
    fmt::print("hello: listening on http://{}/ with {}, {} thread(s)\n", at.to_string(), backend, threads);
    std::fflush(stdout);
  };
  try {
    return server.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "hello: {}\n", e.what());
    return 1;
  }
}
