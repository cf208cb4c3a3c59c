// The io_uring backend: one SQE per operation, submitted in a batch once per loop turn
// together with the wait for completions (one io_uring_enter per turn).
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "hellepoll/backend.hpp"

namespace hellepoll::detail {

class UringBackend final : public Backend {
 public:
  // Throws std::system_error carrying the errno of the refusal (ENOSYS, EPERM, ...), or
  // EOPNOTSUPP when an opcode we need is missing.
  explicit UringBackend(const BackendOptions& options);
  ~UringBackend() override;

  BackendKind kind() const noexcept override { return BackendKind::uring; }
  std::string describe() const override;
  bool wants_nonblocking_sockets() const noexcept override { return false; }
  bool submit(Operation& op, int& inline_result) override;
  void cancel(Operation& op) override;
  void cancel_all() override;
  void poll(std::optional<std::chrono::nanoseconds> timeout) override;
  void wake() noexcept override;
  std::size_t in_flight() const noexcept override { return in_flight_; }
  void forget_fd(int) noexcept override {}

  unsigned setup_flags() const noexcept { return setup_flags_; }
  std::uint64_t completion_overflows() const noexcept override { return cq_overflows_; }

 private:
  io_uring_sqe* next_sqe();
  void prepare(io_uring_sqe* sqe, Operation& op) noexcept;
  void flush_waiting();
  void reap();
  void arm_wake();
  static void wake_completed(Operation& op, int result, std::uint32_t flags) noexcept;

  io_uring ring_{};
  unsigned setup_flags_ = 0;
  std::size_t in_flight_ = 0;
  std::uint64_t cq_overflows_ = 0;
  // Operations that found the SQ full: submitted at the start of the next poll().
  Operation* waiting_head_ = nullptr;
  Operation* waiting_tail_ = nullptr;
  // Cross-thread wake-up: a read on an eventfd kept armed in the ring.
  int wake_fd_ = -1;
  Operation wake_op_{};
  std::uint64_t wake_value_ = 0;
  bool wake_armed_ = false;
  bool shutting_down_ = false;
};

}  // namespace hellepoll::detail
