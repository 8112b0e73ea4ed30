// A request <-> wire::Request, for codecs that embed client requests in their own messages (a learner
// forwards its clients' writes to the leader). Includes generated capnp headers: for codecs only.
#pragma once

#include "client.capnp.h"
#include "core/types.hpp"

namespace corral::protocol {

void put_request(wire::Request::Builder b, const request& r);
result<request> get_request(wire::Request::Reader r);

} // namespace corral::protocol
