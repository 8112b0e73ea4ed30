// Three voters on 127.0.0.1 (quorum ports 2891-2893, native 2281-2283, ZooKeeper 2181-2183): the
// membership that the membership and reconfig tests start from.
#pragma once

#include "core/membership.hpp"

namespace corral::test {

inline membership three_servers(zxid_t version = 0) {
  membership m;
  for (int64_t id = 1; id <= 3; ++id)
    m.members.push_back({id, "127.0.0.1", static_cast<uint16_t>(2890 + id), static_cast<uint16_t>(2280 + id),
                         static_cast<int32_t>(2180 + id), false});
  m.version = version;
  return m;
}

} // namespace corral::test
