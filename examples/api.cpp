// A small JSON API: what most services built on hellepoll start from.
//
//   GET  /users/{id}   {"id":"<id>"}: a path parameter, percent-decoded, escaped for JSON
//                      (400 if it is not UTF-8: JSON text is UTF-8, RFC 8259 §8.1)
//   GET  /status       {"ok":true}: a fixed JSON reply
//   POST /echo         {"length":N}: the size of the request body (chunked or not)
//   GET  /stream       a streamed reply: a few chunks with a pause between them
//
//   build/examples/api --port 8080 --backend uring --access-log off
//   curl localhost:8080/users/42            ->  {"id":"42"}
//   curl -d 'hello' localhost:8080/echo     ->  {"length":5}
//   curl -N localhost:8080/stream           ->  one line every 100 ms
#include <fmt/format.h>

#include <hellepoll/http/cli.hpp>
#include <hellepoll/http/server.hpp>
#include <hellepoll/sleep.hpp>
#include <cstdint>
#include <string>
#include <string_view>

using namespace hellepoll;
using namespace hellepoll::http;
using namespace std::chrono_literals;

// Well-formed UTF-8 (RFC 3629): no stray continuation byte, no overlong form, no
// surrogate, nothing past U+10FFFF. Percent-decoding can produce any bytes at all.
bool is_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || s.size() - i < n) return false;
    std::uint32_t cp = n == 1 ? b : b & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = cp << 6 | (c & 0x3f);
    }
    static constexpr std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

// A JSON string's contents (RFC 8259 §7): quote, backslash and control characters must
// be escaped. A path parameter is user input: never paste it into JSON unescaped.
std::string json_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (unsigned char c : in) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  return out;
}

int main(int argc, char** argv) {
  ServerOptions options;
  auto cli = parse_server_flags(argc, argv, options);
  if (cli.help || !cli.ok || !cli.positional.empty()) {
    if (!cli.ok) fmt::print(stderr, "api: {}\n", cli.error);
    else if (!cli.positional.empty()) fmt::print(stderr, "api: unexpected argument '{}'\n", cli.positional[0]);
    fmt::print(cli.help ? stdout : stderr, "usage: api [flags]\n{}", server_flags_help());
    return cli.help ? 0 : 2;
  }

  Router router;
  // {id} arrives percent-decoded: /users/a%22b gives the id a"b.
  router.get("/users/{id}", [](Request& req) -> Task<Response> {
    if (!is_utf8(req.param("id"))) co_return Response::error(400, "the id is not UTF-8");
    co_return Response::json(fmt::format(R"({{"id":"{}"}})", json_escape(req.param("id"))));
  });
  router.get("/status", [](Request&) -> Task<Response> { co_return Response::json(R"({"ok":true})"); });
  // The body is complete when the handler runs: chunked uploads are already decoded.
  router.post("/echo", [](Request& req) -> Task<Response> {
    co_return Response::json(fmt::format(R"({{"length":{}}})", req.body().size()));
  });
  // Each write is one chunk on the wire (HTTP/1.1) and goes out at once.
  router.get_stream("/stream", [](Request&, ResponseStream& out) -> Task<void> {
    out.content_type("text/plain; charset=utf-8");
    for (int i = 1; i <= 3; ++i) {
      if (!co_await out.write(fmt::format("chunk {}\n", i))) co_return;  // the client left
      co_await sleep_for(100ms);
    }
  });

  Server server(std::move(router), options);
  server.on_listening = [](const SocketAddress& at, std::string_view backend, unsigned threads) {
    fmt::print("api: listening on http://{}/ with {}, {} thread(s)\n", at.to_string(), backend, threads);
    std::fflush(stdout);
  };
  try {
    return server.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "api: {}\n", e.what());
    return 1;
  }
}
