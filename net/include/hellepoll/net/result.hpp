// Result<T>: a value or a std::error_code. net/ never throws for expected conditions
// (refused, reset, EOF, timeout, cancellation); they come back as errors here.
#pragma once

#include <cassert>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace hellepoll {

// Error codes of our own, for conditions that have no errno.
enum class net_errc {
  end_of_stream = 1,  // the peer closed before everything asked for arrived
};
const std::error_category& net_category() noexcept;
inline std::error_code make_error_code(net_errc e) noexcept { return {static_cast<int>(e), net_category()}; }

// -errno (as the runtime returns it) to an error_code in the system category.
inline std::error_code errno_code(int negative_errno) noexcept { return {-negative_errno, std::system_category()}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(std::error_code ec) : v_(ec) { assert(ec); }  // NOLINT

  explicit operator bool() const noexcept { return v_.index() == 0; }
  bool has_value() const noexcept { return v_.index() == 0; }
  std::error_code error() const noexcept { return has_value() ? std::error_code{} : std::get<1>(v_); }

  T& value() & {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }

 private:
  void check() const {
    if (!has_value()) throw std::system_error(std::get<1>(v_));
  }
  std::variant<T, std::error_code> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(std::error_code ec) : ec_(ec) {}  // NOLINT
  explicit operator bool() const noexcept { return !ec_; }
  bool has_value() const noexcept { return !ec_; }
  std::error_code error() const noexcept { return ec_; }
  void value() const {
    if (ec_) throw std::system_error(ec_);
  }

 private:
  std::error_code ec_;
};

}  // namespace hellepoll

template <>
struct std::is_error_code_enum<hellepoll::net_errc> : std::true_type {};
