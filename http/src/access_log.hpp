// The access log: one Common Log Format line per request on stdout.
#pragma once

#include <cstdint>

#include "hellepoll/http/request.hpp"

namespace hellepoll::http {

void write_access_log(const Request& req, int status, std::uint64_t bytes) noexcept;

}  // namespace hellepoll::http
