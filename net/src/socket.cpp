#include "hellepoll/net/socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "hellepoll/scheduler.hpp"

namespace hellepoll {

Result<Socket> Socket::open_tcp(int family) {
  // Without a scheduler on this thread (a server binding its ports before it starts its
  // threads) the socket is blocking; a Listener sets the mode its backend wants at its
  // first accept.
  Scheduler* s = Scheduler::current_or_null();
  int type = SOCK_STREAM | SOCK_CLOEXEC;
  if (s && s->backend().wants_nonblocking_sockets()) type |= SOCK_NONBLOCK;
  int fd = ::socket(family, type, 0);
  if (fd < 0) return errno_code(-errno);
  if (s) s->backend().forget_fd(fd);  // the number may have been some other file's a moment ago
  return Socket(fd);
}

void Socket::close_now() noexcept {
  if (fd_ < 0) return;
  if (Scheduler* s = Scheduler::current_or_null()) s->backend().forget_fd(fd_);
  ::close(fd_);
  fd_ = -1;
}

Result<void> Socket::set_option(int level, int name, int value) noexcept {
  if (::setsockopt(fd_, level, name, &value, sizeof value) < 0) return errno_code(-errno);
  return {};
}

}  // namespace hellepoll
