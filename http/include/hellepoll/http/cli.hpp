// Command-line flags shared by every server program:
//   --host ADDR  --port P  --threads N  --backend auto|uring|epoll  --access-log on|off
//   --batch-wait US  --user NAME
// Values may also be written --flag=value. HELLEPOLL_BACKEND sets the default backend.
// Any other argument starting with '-' is an unknown flag; after "--" every argument is
// positional (a directory named "-x").
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hellepoll/http/server.hpp"

namespace hellepoll::http {

struct CliResult {
  bool ok = true;
  bool help = false;
  std::string error;                    // set when !ok: names the bad flag or value
  std::vector<std::string> positional;  // arguments that are not flags
};

// Parses the common flags into `options`. Flags listed in `extra_switches` (which take
// no value) are handed to `extra(name, "")`; anything else is an unknown flag.
CliResult parse_server_flags(int argc, char** argv, ServerOptions& options,
                             const std::function<bool(std::string_view, std::string_view)>& extra = {},
                             const std::vector<std::string_view>& extra_switches = {});

// The help text for the common flags.
std::string server_flags_help();

}  // namespace hellepoll::http
