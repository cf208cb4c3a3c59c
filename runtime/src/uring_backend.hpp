// The io_uring backend: one SQE per operation, submitted in a batch once per loop turn
// together with the wait for completions (one io_uring_enter per turn). A socket read
// more than once gets one multishot receive for its lifetime instead of a recv SQE per
// call (uring_recv_streams.cpp).
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hellepoll/backend.hpp"

namespace hellepoll::detail {

// Test hook: the backend behaves as on an older kernel, so that what those kernels make it
// do runs in the tests too (tests/support/uring_as_kernel.hpp; `HELLEPOLL_TEST_URING_AS` runs
// whole suites so). Where this kernel can be made to refuse a feature as an older one
// does, it is: a multishot receive (6.0) or its byte limit (6.17) goes to the kernel with
// MSG_WAITALL, which every kernel refuses for a multishot receive with EINVAL. What older
// kernels refuse at set-up is skipped as if refused: COOP_TASKRUN (5.19, so io_uring is
// refused before it), DEFER_TASKRUN (6.1), batched waits (6.12), the socket file table
// (6.13). Read on the backend's thread as each feature is
// used; {0, 0} (the default) is this kernel as it is.
struct UringAsKernel {
  unsigned major = 0;
  unsigned minor = 0;
  // Whether a feature that came with Linux `since_major`.`since_minor` is to be refused.
  bool lacks(unsigned since_major, unsigned since_minor) const noexcept {
    return major != 0 && (major < since_major || (major == since_major && minor < since_minor));
  }
};
inline UringAsKernel uring_as_kernel;

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
  void forget_fd(int fd) noexcept override { forget(fd, false); }
  bool input_waiting(int fd, bool after_short_read) const noexcept override;  // uring_recv_streams.cpp
  void close_detached(int fd) noexcept override;

  BackendCounters counters() const noexcept override { return counters_; }

 private:
  // --- multishot receives (uring_recv_streams.cpp) ---
  struct RecvStream;
  enum class StreamTake { not_mine, completed, waiting };
  // Operation::backend_state values.
  static constexpr std::uint8_t stream_multishot = 1;  // a RecvStream's own operation
  static constexpr std::uint8_t stream_waiter = 2;     // a recv/poll_read parked on a RecvStream
  static constexpr std::uint8_t awaiting_room = 3;     // a send_file waiting (POLL_ADD) for socket room
  static constexpr std::uint8_t read_retried = 4;      // a read_at resubmitted after EAGAIN (see reap)
  // user_data of SQEs whose completion nobody waits for (cancel requests).
  static constexpr __u64 ignored = 0;
  // user_data of the set-up probe's receive (probe_multishot_recv): ignored by reap() too,
  // should a completion of it outlive the probe. reap() tells both from an Operation's
  // address with one test: (data & ~probe_tag) == 0.
  static constexpr __u64 probe_tag = 2;

  void queue_sqe(Operation& op);
  bool cancel_any_supported();
  static void prepare_cancel_any(io_uring_sqe* sqe) noexcept;
  void setup_recv_buffers(const BackendOptions& options);
  void probe_multishot_recv();
  void prepare_multishot_recv(io_uring_sqe* sqe, int fd, bool limited) noexcept;
  StreamTake take_stream_op(Operation& op, int& inline_result);
  bool cancel_stream_waiter(Operation& op);
  bool arm(RecvStream& st);
  void cancel_multishot(RecvStream& st);
  void on_stream_completion(RecvStream& st, const io_uring_cqe& cqe);
  void deliver(RecvStream& st, const char* data, std::size_t n);
  void finish_fill();
  void give_back(unsigned bid) noexcept;
  void wake_waiter(RecvStream& st, int result);
  void send_waiter_alone(RecvStream& st);
  int read_stash(RecvStream& st, Operation& op) noexcept;
  void retire(RecvStream& st);
  RecvStream* stream_of(int fd) const noexcept {
    return static_cast<std::size_t>(fd) < streams_.size() ? streams_[static_cast<std::size_t>(fd)] : nullptr;
  }
  void free_streams() noexcept;
  bool forget_stream(int fd) noexcept;
  // What forget_fd does; `close_follows` when a CLOSE SQE is queued right after.
  void forget(int fd, bool close_follows) noexcept;

  // --- registered sockets (uring_fixed_files.cpp) ---
  enum class Slot : std::uint8_t { empty, entering, entered };
  void setup_fixed_files(bool files_update_supported);
  void enter_socket(int fd);
  void on_socket_entered(int fd, int result) noexcept;
  bool leave_socket(int fd) noexcept;
  bool entered(int fd) const noexcept {
    return static_cast<std::size_t>(fd) < slots_.size() && slots_[static_cast<std::size_t>(fd)] == Slot::entered;
  }
  // user_data of enter_socket's SQE: odd, which no Operation's address is.
  static constexpr __u64 entered_tag(int fd) noexcept { return (static_cast<__u64>(fd) << 1) | 1; }
  unsigned fixed_slots_ = 0;                // size of the ring's file table (0: none)
  std::vector<Slot> slots_;                 // by fd = slot
  std::unique_ptr<int[]> slot_values_;      // the numbers FILES_UPDATE reads at submission
  int no_file_ = -1;                        // what a slot is set to when its socket leaves

  // --- send_file: sendfile(2) on the thread, a POLL_ADD while the socket is full ---
  bool submit_send_file(Operation& op, int& inline_result);
  void retry_send_file(Operation& op);
  bool retry_read_blocking(Operation& op);
  std::vector<bool> nonblocking_;  // by fd: O_NONBLOCK set for send_file (never cleared)

  io_uring_sqe* next_sqe();
  void prepare(io_uring_sqe* sqe, Operation& op) noexcept;
  void flush_waiting();
  unsigned batch_size() const noexcept;
  int submit_and_wait_batch(std::optional<std::chrono::nanoseconds> timeout, unsigned want);
  unsigned reap();  // delivers what the CQ holds; returns how many completions that was
  void arm_wake();
  static void wake_completed(Operation& op, int result, std::uint32_t flags) noexcept;

  io_uring ring_{};
  unsigned setup_flags_ = 0;
  // Batched waits (BackendOptions::batch_wait): 0 when off or unsupported.
  unsigned batch_wait_us_ = 0;
  unsigned since_sleep_ = 0;  // completions delivered since the last poll() that could sleep
  std::size_t in_flight_ = 0;
  BackendCounters counters_{};
  // Operations that found the SQ full: submitted at the start of the next poll().
  Operation* waiting_head_ = nullptr;
  Operation* waiting_tail_ = nullptr;
  // Cross-thread wake-up: a read on an eventfd kept armed in the ring.
  int wake_fd_ = -1;
  Operation wake_op_{};
  std::uint64_t wake_value_ = 0;
  bool wake_armed_ = false;
  bool shutting_down_ = false;

  // The provided-buffer ring multishot receives fill (null: multishot receives are off).
  io_uring_buf_ring* recv_ring_ = nullptr;
  char* recv_memory_ = nullptr;
  unsigned recv_count_ = 0;       // buffers, a power of two
  unsigned recv_size_ = 0;        // bytes per buffer
  unsigned recv_recycled_ = 0;    // buffers given back since the last ring advance
  std::vector<RecvStream*> streams_;  // by fd
  // By fd: what the recvs so far told about it (see take_stream_op).
  enum class FdKind : std::uint8_t { unread, read_once, stream, other };
  std::vector<FdKind> kinds_;
  std::vector<RecvStream*> orphans_;  // forgotten streams waiting for their final completion
  std::vector<RecvStream*> spare_;    // retired streams kept for reuse
  RecvStream* filling_ = nullptr;     // whose waiting recv this reap is filling (deliver)
  std::size_t streams_armed_ = 0;
  bool multishot_recv_ = false;   // the kernel takes IORING_RECV_MULTISHOT (probed at set-up)
  bool multishot_limit_ = false;  // ... and a byte limit for it (Linux 6.17+)
};

}  // namespace hellepoll::detail
