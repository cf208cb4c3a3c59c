// A file's open (or accept) failed with EMFILE or ENFILE: closes a few idle connections
// of the server thread running here, if any (ServerThread::reclaim_idle), so that the
// next try finds a descriptor. Without it, connections kept alive or silent could hold
// every descriptor until their timeouts while each request for a file got a 503.
#pragma once

namespace hellepoll::http::detail {

void descriptors_ran_out() noexcept;

}  // namespace hellepoll::http::detail
