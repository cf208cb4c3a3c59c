#include "switch_user.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "hellepoll/log.hpp"

namespace hellepoll::http {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("--user: " + what + ": " + std::strerror(errno));
}

}  // namespace

void switch_user(const std::string& name) {
  if (::geteuid() != 0) {
    log(LogLevel::warn, "--user {}: ignored, only a server started as root can switch users", name);
    return;
  }
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  errno = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (!found) {
    if (errno == 0) throw std::runtime_error("--user: no such user '" + name + "'");
    fail("cannot look up user '" + name + "'");
  }
  if (pw.pw_uid == 0) return;  // `--user root`: stay root, as asked
  // Groups first: once the uid is not 0 they can no longer be changed.
  if (::initgroups(pw.pw_name, pw.pw_gid) != 0) fail("initgroups");
  if (::setgid(pw.pw_gid) != 0) fail("setgid");
  if (::setuid(pw.pw_uid) != 0) fail("setuid");
  // setuid as root sets the real, effective and saved ids alike; make sure of it.
  if (::setuid(0) == 0) throw std::runtime_error("--user: root could be regained after switching users");
}

}  // namespace hellepoll::http
