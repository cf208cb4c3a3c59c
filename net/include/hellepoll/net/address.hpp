// IPv4 and IPv6 socket addresses: parse, print, compare.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hellepoll {

class SocketAddress {
 public:
  SocketAddress() noexcept;
  // "127.0.0.1:8080", "[::1]:8080". nullopt if it is not a numeric address with a port.
  static std::optional<SocketAddress> parse(std::string_view host_and_port);
  // A numeric host ("127.0.0.1", "::1", "[::1]") and a port.
  static std::optional<SocketAddress> parse(std::string_view host, std::uint16_t port);
  static SocketAddress loopback_v4(std::uint16_t port) noexcept;
  static SocketAddress loopback_v6(std::uint16_t port) noexcept;
  static SocketAddress any_v4(std::uint16_t port) noexcept;
  static SocketAddress from(const sockaddr* sa, socklen_t len) noexcept;

  const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }
  int family() const noexcept { return storage_.ss_family; }
  std::uint16_t port() const noexcept;
  void set_port(std::uint16_t port) noexcept;

  std::string host() const;       // "127.0.0.1", "::1"
  std::string to_string() const;  // "127.0.0.1:8080", "[::1]:8080"

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t len_;
};

}  // namespace hellepoll
