#include "hellepoll/net/result.hpp"

#include <string>

namespace hellepoll {
namespace {
class NetCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hellepoll.net"; }
  std::string message(int c) const override {
    switch (static_cast<net_errc>(c)) {
      case net_errc::end_of_stream: return "end of stream: the peer closed the connection";
    }
    return "unknown hellepoll.net error";
  }
};
}  // namespace

const std::error_category& net_category() noexcept {
  static const NetCategory category;
  return category;
}

}  // namespace hellepoll
