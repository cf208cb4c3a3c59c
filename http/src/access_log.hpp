// The access log: one Common Log Format line per request on stdout.
#pragma once

#include <cstdint>
#include <string_view>

#include "hellepoll/http/request.hpp"

namespace hellepoll::http {

// Opens the log's own descriptor now rather than at the first line: before giving up root
// (switch_user), which /proc/self/fd/1 needs.
void open_access_log() noexcept;

// Once no thread logs any more (the server's threads joined) and only after
// open_access_log(): sends the rest of a line the output took in part, waiting up to 1 s
// for room.
void finish_access_log() noexcept;

// `peer_host`: the client's address, read once per connection at its start (a client that
// has reset is gone by the time its reply is logged); empty is logged as "-".
void write_access_log(std::string_view peer_host, const Request& req, int status, std::uint64_t bytes) noexcept;

// A request refused before it was whole (a malformed head, a timeout, a body over the
// limit): `line` is what came of its request line, logged with quotes, backslashes and
// bytes outside printable ASCII escaped as \xHH (as nginx does), or "-" when nothing came.
void write_refused_access_log(std::string_view peer_host, std::string_view line, int status,
                              std::uint64_t bytes) noexcept;

}  // namespace hellepoll::http
