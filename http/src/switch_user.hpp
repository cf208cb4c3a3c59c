// Giving up root once the port is bound, as nginx's `user` directive does for its workers:
// a file server started as root otherwise serves every file root may read (a mode-000
// file included), since root passes every permission check.
#pragma once

#include <string>

namespace hellepoll::http {

// Run as `name` (its uid, its group, its supplementary groups) from now on, for good.
// Only root can; another user is told on stderr and stays who it is (nginx warns the
// same way). Throws std::runtime_error naming the problem: no such user, or a failed
// setgid/setuid. Call it before the first io_uring is created: the kernel's io-wq
// workers keep the credentials of the thread that made them.
void switch_user(const std::string& name);

}  // namespace hellepoll::http
