// The interfaces of the server's actors: every message each one accepts and what it answers, as CAF
// typed actors, so the compiler checks both the senders and the behaviours against them. Read this
// file to learn who talks to whom inside a server:
//
//   client_listener --open, stats--------------------------> state_machine
//   client_listener --attach, detach, requests-------------> session
//   session --requests, detach-----------------------------> state_machine
//   session --write, close---------------------------------> client_listener
//   state_machine --session_output, close, ...-------------> session
//   state_machine --append, truncate, purge, resume--------> log_writer --durable, log_failed--> state_machine
//   state_machine --snapshot, chunk, finish, purge, stats--> snapshotter (answers, or a caf::error)
//   state_machine --zab::messages, peer_frame, close-------> transport --connected, gone, ...--> state_machine
//
// Only CAF's typed-actor headers and the message types: include this where a handle is held or a
// behaviour is defined; sending needs actors/messages.hpp (all of CAF) in the .cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/io/connection_handle.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/message_types.hpp" // request, response, watch_event, shared_txn, connect_*, snapshot_*
#include <capnp/common.h>

#include "core/zab.hpp"
#include "protocol/peer_codec.hpp" // peer_frame
#include "schema/word_buffer.hpp"

namespace corral::server {

// Snapshot chunks travel to the snapshotter without a copy (txns too: shared_txn, core): a chunk's
// frame payload, encoded from the tree by the state machine (persistence::chunk_encoder). The
// snapshotter answers with the same buffer, which the state machine fills with the next chunk.
using node_chunk = std::shared_ptr<word_buffer>;

// Which client connection a message is about. A broker's connection handle is the socket
// descriptor, which the operating system hands to the next connection as soon as this one closes;
// the serial is the listener's own count and is never reused. Everything that answers a connection
// later than it asked (connect, resume, four-letter words, responses, events) carries both, and the
// listener drops it unless the connection with that handle still has that serial.
struct client_conn {
  caf::io::connection_handle hdl;
  uint64_t serial = 0;
  friend bool operator==(const client_conn& a, const client_conn& b) { return a.hdl == b.hdl && a.serial == b.serial; }
  friend bool operator!=(const client_conn& a, const client_conn& b) { return !(a == b); }
};

// What the state machine has for one session after one of its turns: responses and watch events in
// the order the client must see them (a txn's events before the response that reflects it). One
// message per session per turn, not one per answer: under load a turn answers many requests, and each
// CAF message costs an allocation, a mailbox operation and often a thread wake-up.
struct session_output {
  std::vector<std::variant<response, watch_event>> items;
};

// A server of the ensemble, as the transport dials it.
struct peer_address {
  zab::server_id id = 0;
  std::string host;
  uint16_t port = 0;
};

// ---- the disk ---------------------------------------------------------------------------------

// What the log writer tells the state machine: everything through a zxid is on disk (or, after a
// truncate, the log ends there), or a write failed (`fatal`: the log's state on disk is unknown).
using log_events =
    caf::typed_actor<caf::reacts_to<atoms::durable, zxid_t>, caf::reacts_to<atoms::log_failed, std::string, bool>>;

// The log writer (actors/server/storage_actors.cpp): appends txns and digest checks, fsyncs them in
// groups, cuts or purges the log. After a failed write it drops appends until `resume`.
using log_writer_actor =
    caf::typed_actor<caf::reacts_to<atoms::connect, log_events>, // who hears `durable` (sent once, first)
                                                                 // txns in zxid order: a turn's (standalone) or a
                                                                 // ready's (ensemble), one message
                     caf::reacts_to<atoms::append, std::vector<shared_txn>>,
                     caf::reacts_to<atoms::append, persistence::digest_check>, caf::reacts_to<atoms::resume>,
                     caf::reacts_to<atoms::purge, zxid_t>,            // segments wholly before this zxid
                     caf::reacts_to<atoms::truncate, zxid_t, zxid_t>, // cut after the first, report the second durable
                     caf::reacts_to<atoms::stop>>;                    // sync what is batched, then exit

// The snapshotter (storage_actors.cpp): writes one snapshot a chunk at a time, purges old ones, and
// measures the data directory. Each step answers, or fails with a caf::error saying why.
using snapshotter_actor =
    caf::typed_actor<caf::replies_to<atoms::snapshot, persistence::snapshot_header>::with<void>, // begin
                     caf::replies_to<atoms::chunk, node_chunk>::with<node_chunk>,
                     caf::replies_to<atoms::finish, persistence::snapshot_trailer>::with<std::string>, // the file's
                                                                                                       // path
                     // Keeps the newest `keep`; answers the oldest kept one's start zxid (none: no snapshot left).
                     caf::replies_to<atoms::purge, uint64_t>::with<std::optional<zxid_t>>,
                     caf::replies_to<atoms::stats>::with<uint64_t>>; // the data directory's bytes

// ---- clients ----------------------------------------------------------------------------------

// The client listener (client_listener.cpp) as others see it: opening its ports, and the session
// actors' writes to a connection.
using listener_actor = caf::typed_actor<
    // host, port (0: any), ZooKeeper's protocol?, TLS? -> the port bound
    caf::replies_to<atoms::open, std::string, uint16_t, bool, bool>::with<uint16_t>,
    caf::reacts_to<atoms::write, client_conn, std::vector<char>, int32_t>, // bytes, how many answers they hold
    caf::reacts_to<atoms::close, client_conn>>;

// A session (session.cpp): one per client session, alive from its creation to its end, attached to
// at most one connection at a time.
using session_actor =
    caf::typed_actor<caf::reacts_to<atoms::attach, client_conn, listener_actor, protocol::connect_response,
                                    int32_t>, // the connection's wire (see actors.hpp)
                     caf::reacts_to<atoms::detach, client_conn>,
                     // What the client sent, in order: all the requests one read from its socket held.
                     caf::reacts_to<std::vector<request>>,                         // native
                     caf::reacts_to<std::vector<protocol::jute::decoded_request>>, // ZooKeeper's
                     caf::reacts_to<session_output>,
                     caf::reacts_to<atoms::expired>, // the session expired: tell the client, end
                     caf::reacts_to<atoms::close>,   // the client closed it: end
                     caf::reacts_to<atoms::stop>>;   // this server stopped serving: drop the connection only

// ---- the ensemble -----------------------------------------------------------------------------

// What the transport tells its owner: a peer admitted or lost, and what peers sent.
using peer_events = caf::typed_actor<caf::reacts_to<atoms::connected, zab::server_id>,
                                     caf::reacts_to<atoms::gone, zab::server_id>, caf::reacts_to<zab::message>,
                                     caf::reacts_to<atoms::peer_frame, zab::server_id, protocol::peer_frame>>;

// The peer transport (peer_transport.cpp) as its owner sees it.
using transport_actor = caf::typed_actor<caf::replies_to<atoms::open>::with<uint16_t>, // bind: the port
                                         caf::reacts_to<atoms::connect, std::vector<peer_address>>,
                                         // each to m.to if connected, in order; one flush per peer
                                         caf::reacts_to<std::vector<zab::message>>,
                                         caf::reacts_to<atoms::peer_frame, zab::server_id, protocol::peer_frame>,
                                         caf::reacts_to<atoms::close, zab::server_id>>;

// ---- the state machine ------------------------------------------------------------------------

// The state machine (state_machine.cpp, ensemble.cpp): the server's one writer. It also hears the
// log writer and the transport, and its own timers (state_machine_internal.hpp).
using state_machine_actor = caf::typed_actor<
    // A connection's ConnectRequest, its address and TLS subject -> the answer and, if it opened or
    // resumed a session, the session's actor (null otherwise).
    caf::replies_to<atoms::open, protocol::connect_request, std::string, std::string>::with<protocol::connect_response,
                                                                                            session_actor>,
    caf::reacts_to<atoms::request, session_id, std::vector<request>>, // from the session's actor, in its order
    caf::reacts_to<atoms::detach, session_id>,                        // its connection closed
    caf::reacts_to<atoms::touch, session_id>, // it answered reads by itself (shared_reads.hpp): keep it alive
    caf::replies_to<atoms::stats>::with<protocol::server_stats>,
    caf::reacts_to<atoms::connect, transport_actor>> // the ensemble's transport, once
    ::extend_with<log_events, peer_events>;

} // namespace corral::server

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::server::node_chunk)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::server::client_conn)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::server::session_output)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<corral::request>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<corral::shared_txn>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<corral::protocol::jute::decoded_request>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<corral::server::peer_address>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::optional<corral::zxid_t>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::zab::message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<corral::zab::message>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::protocol::peer_frame)
