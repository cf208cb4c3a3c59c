#include "hellepoll/http/request.hpp"

#include <sys/socket.h>

namespace hellepoll::http {

const SocketAddress& Request::peer() const {
  if (!peer_) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
      peer_ = SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
    else
      peer_ = SocketAddress{};
  }
  return *peer_;
}

}  // namespace hellepoll::http
