// Minimal logging to stderr: one line per call, prefixed with the level.
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace hellepoll {

enum class LogLevel { debug, info, warn, error };

void log_line(LogLevel level, std::string_view message) noexcept;
void set_log_level(LogLevel min) noexcept;
LogLevel log_level() noexcept;

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) noexcept {
  if (level < log_level()) return;
  try {
    log_line(level, fmt::format(f, std::forward<Args>(args)...));
  } catch (...) {
    log_line(level, "(log message could not be formatted)");
  }
}

}  // namespace hellepoll
