// Registered sockets. A send on a plain fd makes io_uring look the file up and take a
// reference on it (fget/fput: two atomic operations and a table walk) every time; a file
// entered in the ring's own table is found by index with neither. A keep-alive connection
// sends once per request, so a socket read more than once (the sockets that get a
// multishot receive, uring_recv_streams.cpp) is entered in the table at the slot of its
// own fd number, and its sends and sendmsgs name it by slot from then on (1.4% of the
// server's time at keep-alive c256 was fget and its neighbours; bench/RESULTS.md).
//
// Entering goes as a FILES_UPDATE SQE in the same submission order as everything else,
// so a send queued after it finds the socket. A socket leaves the table before its close
// (the table holds a reference of its own), so the number can be reused at once: see
// leave_socket.
//
// Only sends use the slot, never the long-lived requests (the multishot receive, a poll):
// before Linux 6.13 a file that left the table was released only after every request
// that had used the table *before* it finished, so one parked request could hold every
// closed connection open (liburing issue #1192). Those kernels get no table at all, as
// kernels without sparse tables (before 5.19).
#include <sys/resource.h>

#include <algorithm>
#include <cstring>

#include "hellepoll/log.hpp"
#include "kernel_version.hpp"
#include "uring_backend.hpp"

namespace hellepoll::detail {
namespace {

// The most slots a thread's table gets (8 bytes of kernel memory each); sockets with
// higher numbers are used by fd as before.
constexpr unsigned kMaxSlots = 65536;

// Linux 6.13 releases a file that leaves the table once the requests using that file end.
bool kernel_releases_files_independently() {
  return !uring_as_kernel.lacks(6, 13) && kernel_at_least(6, 13);
}

}  // namespace

void UringBackend::setup_fixed_files(bool files_update_supported) {
  if (!files_update_supported || !kernel_releases_files_independently()) return;
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  // The kernel refuses a table larger than RLIMIT_NOFILE.
  const unsigned slots = static_cast<unsigned>(std::min<rlim_t>(r.rlim_cur, kMaxSlots));
  if (slots == 0) return;
  const int rc = io_uring_register_files_sparse(&ring_, slots);
  if (rc < 0) {
    log(LogLevel::info, "io_uring: no registered file table ({}); sends look their socket up each time",
        std::strerror(-rc));
    return;
  }
  // Uninitialised on purpose: only the numbers of sockets entered are ever written, so
  // the pages of numbers never used stay untouched.
  slot_values_.reset(new int[slots]);
  fixed_slots_ = slots;
}

void UringBackend::enter_socket(int fd) {
  if (static_cast<unsigned>(fd) >= fixed_slots_ || shutting_down_) return;
  const auto i = static_cast<std::size_t>(fd);
  if (i >= slots_.size()) slots_.resize(std::max<std::size_t>(i + 1, slots_.size() * 2));
  if (slots_[i] != Slot::empty) return;
  io_uring_sqe* sqe = next_sqe();
  if (!sqe) return;  // stays a plain fd
  // The kernel reads the number when it takes the SQE: it must outlive this call.
  slot_values_[i] = fd;
  io_uring_prep_files_update(sqe, &slot_values_[i], 1, fd);
  io_uring_sqe_set_data64(sqe, entered_tag(fd));
  slots_[i] = Slot::entering;
}

// The completion of enter_socket's SQE: from now on sends may name the slot. FILES_UPDATE
// completes as it is submitted, so completions come in the order of the SQEs: only a slot
// still entering becomes entered, and a refusal (ENOMEM) leaves the slot to plain sends.
void UringBackend::on_socket_entered(int fd, int result) noexcept {
  const auto i = static_cast<std::size_t>(fd);
  if (i >= slots_.size()) return;
  if (result < 0) {
    slots_[i] = Slot::empty;
    log(LogLevel::debug, "io_uring: socket {} not registered ({})", fd, std::strerror(-result));
  } else if (slots_[i] == Slot::entering) {
    slots_[i] = Slot::entered;
    ++counters_.registered_sockets;
  }
}

// Returns true when the leave was queued (forget submits it before a synchronous close).
bool UringBackend::leave_socket(int fd) noexcept {
  const auto i = static_cast<std::size_t>(fd);
  if (i >= slots_.size() || slots_[i] == Slot::empty) return false;
  slots_[i] = Slot::empty;
  if (io_uring_sqe* sqe = next_sqe()) {
    io_uring_prep_files_update(sqe, &no_file_, 1, fd);
    io_uring_sqe_set_data64(sqe, ignored);
    return true;
  }
  // No room to queue it: leave now, or the table would keep the connection open after
  // its close and a reused number would find the old socket.
  const int rc = io_uring_register_files_update(&ring_, static_cast<unsigned>(fd), &no_file_, 1);
  if (rc < 0) log(LogLevel::warn, "io_uring: socket {} could not leave the file table ({})", fd, std::strerror(-rc));
  return false;
}

}  // namespace hellepoll::detail
