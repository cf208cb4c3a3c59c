// The epoll backend: try the syscall first, park on readiness only on EAGAIN.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "file_pool.hpp"
#include "hellepoll/backend.hpp"

namespace hellepoll::detail {

class EpollBackend final : public Backend {
 public:
  explicit EpollBackend(const BackendOptions& options);
  ~EpollBackend() override;

  BackendKind kind() const noexcept override { return BackendKind::epoll; }
  std::string describe() const override;
  bool wants_nonblocking_sockets() const noexcept override { return true; }
  bool submit(Operation& op, int& inline_result) override;
  void cancel(Operation& op) override;
  void cancel_all() override;
  void poll(std::optional<std::chrono::nanoseconds> timeout) override;
  void wake() noexcept override;
  std::size_t in_flight() const noexcept override { return in_flight_; }
  void forget_fd(int fd) noexcept override;
  bool input_waiting(int fd, bool after_short_read) const noexcept override;

 private:
  // Operations parked on one fd, FIFO, linked through Operation::next.
  struct Queue {
    Operation* head = nullptr;
    Operation* tail = nullptr;
    void push(Operation* op) noexcept;
    Operation* pop() noexcept;
    bool remove(Operation* op) noexcept;
  };
  struct FdSlot {
    Queue readers;
    Queue writers;
    bool registered = false;
    // A stream socket whose last recv came back short has an empty receive queue: until
    // its next readable edge, a recv parks without trying (nginx does the same), which
    // saves the EAGAIN recv of every keep-alive request. Datagram and seqpacket sockets
    // return one message per recv, so a short read says nothing there.
    bool read_drained = false;
    bool peer_done = false;        // EOF, hang-up or error seen: a short read may be the last
    std::uint8_t kind = 0;         // 0: not known yet, 1: a stream socket, 2: something else
    std::uint8_t short_reads = 0;  // the type is asked at the second short read
  };

  FdSlot& slot(int fd);
  void park(Operation& op, bool reader);
  void retry(Queue& q);
  void note_read(const Operation& op, int result) noexcept;
  void finish(Operation& op, int result, std::uint32_t flags = 0) noexcept;
  void drain_accept(Operation& op);
  void fail_parked(int fd, int error) noexcept;
  void feed_pool();
  void collect_pool();

  BackendOptions options_;
  int epfd_ = -1;
  int wakefd_ = -1;
  std::size_t in_flight_ = 0;
  std::vector<FdSlot> slots_;
  Queue pool_overflow_;  // file ops waiting for room in the pool's queue
  std::unique_ptr<FilePool> pool_;
  std::vector<Operation*> pool_done_;
};

}  // namespace hellepoll::detail
