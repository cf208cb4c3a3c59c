#include "access_log.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <ctime>

namespace hellepoll::http {

void write_access_log(const Request& req, int status, std::uint64_t bytes) noexcept {
  try {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    fmt::memory_buffer line;
    std::string host = req.peer().host();
    fmt::format_to(std::back_inserter(line), "{} - - [{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000] \"{} {} HTTP/1.{}\" {} ",
                   host.empty() ? "-" : host, tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, req.method(), req.target(), req.version_minor(), status);
    if (bytes) fmt::format_to(std::back_inserter(line), "{}\n", bytes);
    else line.append(std::string_view("-\n"));
    // One write(2) per line: lines from several threads never interleave.
    [[maybe_unused]] auto r = ::write(STDOUT_FILENO, line.data(), line.size());
  } catch (...) {
  }
}

}  // namespace hellepoll::http
