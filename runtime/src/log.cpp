#include "hellepoll/log.hpp"

#include <atomic>
#include <cstdio>
#include <string>

namespace hellepoll {
namespace {
std::atomic<LogLevel> g_level{LogLevel::info};

std::string_view name(LogLevel l) noexcept {
  switch (l) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}
}  // namespace

void set_log_level(LogLevel min) noexcept { g_level.store(min, std::memory_order_relaxed); }
LogLevel log_level() noexcept { return g_level.load(std::memory_order_relaxed); }

void log_line(LogLevel level, std::string_view message) noexcept {
  // One fwrite per line so lines from several threads do not interleave.
  std::string line;
  try {
    line.reserve(message.size() + 24);
    line.append("hellepoll ").append(name(level)).append(": ").append(message).push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
  } catch (...) {
  }
}

}  // namespace hellepoll
