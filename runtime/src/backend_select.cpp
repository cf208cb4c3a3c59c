// Choosing a backend: flag, then environment, then auto-detection with a fallback that
// says why in one log line.
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "epoll_backend.hpp"
#include "hellepoll/backend.hpp"
#include "hellepoll/log.hpp"
#include "uring_backend.hpp"

namespace hellepoll {
namespace {

// Set-up refusals mean "io_uring is not for us here"; ENOMEM or EMFILE are real errors
// that epoll would hit next, so they are not a reason to fall back.
bool is_refusal(int err) noexcept {
  return err == ENOSYS || err == EPERM || err == EACCES || err == EINVAL || err == EOPNOTSUPP;
}

// What likely stands behind a refusal, as " (...)"; empty if nothing is known.
std::string refusal_cause(int err) {
  if (err == ENOSYS) return " (kernel built without io_uring)";
  if (err != EPERM && err != EACCES) return {};
  std::ifstream sysctl("/proc/sys/kernel/io_uring_disabled");
  int disabled = 0;
  if (sysctl >> disabled && disabled != 0) return " (kernel.io_uring_disabled=" + std::to_string(disabled) + ")";
  return " (refused, e.g. by a seccomp filter in a container)";
}

// e.what() without the ": <errno text>" that std::system_error appends to its argument:
// an error rethrown with the same code appends it again.
std::string without_errno_text(const std::system_error& e) {
  std::string what = e.what();
  if (const std::string tail = ": " + e.code().message(); what.ends_with(tail)) what.resize(what.size() - tail.size());
  return what;
}

}  // namespace

std::string_view to_string(BackendKind k) noexcept {
  switch (k) {
    case BackendKind::auto_detect: return "auto";
    case BackendKind::uring: return "uring";
    case BackendKind::epoll: return "epoll";
  }
  return "?";
}

BackendKind parse_backend_kind(std::string_view name) {
  if (name == "auto") return BackendKind::auto_detect;
  if (name == "uring" || name == "io_uring") return BackendKind::uring;
  if (name == "epoll") return BackendKind::epoll;
  throw std::invalid_argument("unknown backend '" + std::string(name) + "' (expected auto, uring or epoll)");
}

BackendKind backend_kind_from(std::optional<std::string_view> flag) {
  if (flag) return parse_backend_kind(*flag);
  if (const char* env = std::getenv("HELLEPOLL_BACKEND"); env && *env) {
    try {
      return parse_backend_kind(env);
    } catch (const std::invalid_argument& e) {
      // Nothing on the command line shows the bad value: name where it came from.
      throw std::invalid_argument(std::string("HELLEPOLL_BACKEND: ") + e.what());
    }
  }
  return BackendKind::auto_detect;
}

std::unique_ptr<Backend> make_backend(BackendKind kind, const BackendOptions& options) {
  switch (kind) {
    case BackendKind::epoll: return std::make_unique<detail::EpollBackend>(options);
    case BackendKind::uring:
      try {
        return std::make_unique<detail::UringBackend>(options);
      } catch (const std::system_error& e) {
        throw std::system_error(e.code(), "io_uring backend requested but unavailable" + refusal_cause(e.code().value()) +
                                              ": " + without_errno_text(e));
      }
    case BackendKind::auto_detect:
      try {
        return std::make_unique<detail::UringBackend>(options);
      } catch (const std::system_error& e) {
        if (!is_refusal(e.code().value())) throw;
        log(LogLevel::info, "io_uring unavailable: {}{}; using epoll", e.what(), refusal_cause(e.code().value()));
        return std::make_unique<detail::EpollBackend>(options);
      }
  }
  throw std::invalid_argument("bad BackendKind");
}

}  // namespace hellepoll
