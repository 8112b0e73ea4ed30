// What a broker hears from CAF's I/O layer. A typed broker (the client listener, the peer
// transport) lists these in the interface its behaviour implements; its handle for others leaves
// them out (interfaces.hpp).
#pragma once

#include <caf/io/system_messages.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace corral::server {

using broker_io =
    caf::typed_actor<caf::reacts_to<caf::io::new_connection_msg>, caf::reacts_to<caf::io::new_data_msg>,
                     caf::reacts_to<caf::io::data_transferred_msg>, caf::reacts_to<caf::io::connection_closed_msg>,
                     caf::reacts_to<caf::io::acceptor_closed_msg>>;

} // namespace corral::server
