#include "hellepoll/http/request.hpp"

#include <sys/socket.h>

#include "hellepoll/http/path.hpp"

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

namespace {
// application/x-www-form-urlencoded: '+' is a space, then %XX.
std::optional<std::string> form_decode(std::string_view s) {
  std::string plus(s);
  for (char& c : plus)
    if (c == '+') c = ' ';
  return percent_decode(plus);
}
}  // namespace

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::string_view rest = query();
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const auto key = form_decode(pair.substr(0, eq));
    if (!key || *key != name) continue;
    auto value = form_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (value) return value;
  }
  return std::nullopt;
}

}  // namespace hellepoll::http
