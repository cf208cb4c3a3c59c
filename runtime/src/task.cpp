#include "hellepoll/task.hpp"

#include <exception>

#include "hellepoll/log.hpp"

namespace hellepoll::detail {

void report_detached_exception(std::exception_ptr e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log(LogLevel::error, "detached task ended with an exception: {}", ex.what());
  } catch (...) {
    log(LogLevel::error, "detached task ended with a non-standard exception");
  }
}

}  // namespace hellepoll::detail
