// The main program: a static file server.
//
//   hellepoll serve [DIR] [--port P] [--threads N] [--backend auto|uring|epoll] [--listing]
//
// Without DIR it serves the bundled default site (site/ in the source tree). A DIR that
// starts with '-' goes after "--": hellepoll serve --port 8080 -- -x
#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <filesystem>
#include <hellepoll/http/cli.hpp>
#include <hellepoll/http/server.hpp>
#include <hellepoll/http/static_files.hpp>
#include <hellepoll/log.hpp>
#include <string_view>
#include <system_error>

using namespace hellepoll;
using namespace hellepoll::http;

namespace {

// The bundled site: next to the build tree's source, or installed beside the binary.
std::string default_site() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& candidate : {exe.parent_path() / "site", exe.parent_path() / "../share/hellepoll/site",
                                    fs::path(HELLEPOLL_SOURCE_DIR) / "site"})
    if (fs::is_directory(candidate / ".", ec)) return fs::weakly_canonical(candidate, ec).string();
  return {};
}

void usage(std::FILE* to) {
  fmt::print(to,
             "usage: hellepoll serve [DIR] [flags]\n"
             "Serves the files under DIR (default: the bundled site) over HTTP/1.1.\n"
             "  --listing            HTML index for directories without index.html\n"
             "  --                   end of flags: what follows is DIR, even if it starts with -\n{}",
             server_flags_help());
}

// A bad argument: the problem, then the usage, on stderr; the exit status.
int bad_usage(std::string_view problem) {
  fmt::print(stderr, "hellepoll: {}\n", problem);
  usage(stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ServerOptions options;
  StaticOptions statics;
  auto cli = parse_server_flags(
      argc, argv, options,
      [&](std::string_view name, std::string_view) {
        if (name != "--listing") return false;
        statics.listing = true;
        return true;
      },
      {"--listing"});
  if (cli.help) {
    usage(stdout);
    return 0;
  }
  if (!cli.ok) return bad_usage(cli.error);
  if (cli.positional.empty() || cli.positional[0] != "serve" || cli.positional.size() > 2)
    return bad_usage(cli.positional.size() > 2 ? "more than one directory given" : "expected the command 'serve'");
  // '' is a DIR given empty (a variable unset in a script, say), not the bundled site.
  if (cli.positional.size() == 2 && cli.positional[1].empty()) return bad_usage("empty directory name");
  std::string root = cli.positional.size() == 2 ? cli.positional[1] : default_site();
  std::error_code ec;
  if (root.empty() || !std::filesystem::is_directory(root, ec)) {
    fmt::print(stderr, "hellepoll: {} is not a directory\n", root.empty() ? "the bundled site" : root);
    return 2;
  }

  Router router;
  try {
    router.get("/*", static_files(root, statics));
  } catch (const std::exception& e) {
    fmt::print(stderr, "hellepoll: {}\n", e.what());
    return 2;
  }
  const bool started_as_root = ::geteuid() == 0;
  // The root as the handler opened it (as root, before any --user switch): its files are
  // opened relative to it, so what the new user needs is the right to read and enter the
  // root itself, not its parent directories.
  const int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  Server server(std::move(router), options);
  server.on_listening = [&](const SocketAddress& at, std::string_view backend, unsigned threads) {
    fmt::print("hellepoll: serving {} on http://{}/ with {}, {} thread(s)\n", root, at.to_string(), backend, threads);
    std::fflush(stdout);
    if (!started_as_root) return;
    if (options.user.empty())
      log(LogLevel::info, "running as root: files only root may read are served too; --user nobody serves as "
                          "nobody once the port is bound, as nginx's workers do");
    else if (::geteuid() != 0 && ::faccessat(root_fd, ".", R_OK | X_OK, AT_EACCESS) != 0)
      log(LogLevel::warn, "user {} cannot read document root {}: every request will get 403", options.user, root);
  };
  try {
    return server.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "hellepoll: {}\n", e.what());
    return 1;
  }
}
