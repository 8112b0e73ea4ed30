// The atoms that name the messages actors exchange (CAF atom constants). Only caf/atom.hpp: the
// actors' interfaces (actors/server/interfaces.hpp, actors/client/recipe_messages.hpp) use these
// without pulling in the rest of CAF.
#pragma once

#include <caf/atom.hpp>

namespace corral::atoms {
using attach = caf::atom_constant<caf::atom("attach")>;
using detach = caf::atom_constant<caf::atom("detach")>;
using open = caf::atom_constant<caf::atom("open")>;
using request = caf::atom_constant<caf::atom("request")>;
using write = caf::atom_constant<caf::atom("write")>;
using close = caf::atom_constant<caf::atom("close")>;
using expired = caf::atom_constant<caf::atom("expired")>;
using tick = caf::atom_constant<caf::atom("tick")>;
using gone = caf::atom_constant<caf::atom("gone")>;
using connect = caf::atom_constant<caf::atom("connect")>;
using connected = caf::atom_constant<caf::atom("connected")>;
using retry = caf::atom_constant<caf::atom("retry")>;
using subscribe = caf::atom_constant<caf::atom("subscribe")>;
using state = caf::atom_constant<caf::atom("state")>;
using watch = caf::atom_constant<caf::atom("watch")>;
using fire = caf::atom_constant<caf::atom("fire")>;
using stop = caf::atom_constant<caf::atom("stop")>;
using append = caf::atom_constant<caf::atom("append")>;
using durable = caf::atom_constant<caf::atom("durable")>;
using log_failed = caf::atom_constant<caf::atom("logfailed")>;
using resume = caf::atom_constant<caf::atom("resume")>;
using purge = caf::atom_constant<caf::atom("purge")>;
using snapshot = caf::atom_constant<caf::atom("snapshot")>;
using chunk = caf::atom_constant<caf::atom("chunk")>;
using finish = caf::atom_constant<caf::atom("finish")>;
using peer_frame = caf::atom_constant<caf::atom("peerframe")>;
using truncate = caf::atom_constant<caf::atom("truncate")>;
using zab_tick = caf::atom_constant<caf::atom("zabtick")>;
using stats = caf::atom_constant<caf::atom("stats")>;
using commit = caf::atom_constant<caf::atom("commit")>;
using touch = caf::atom_constant<caf::atom("touch")>;
// Recipes (actors/client): take and give back a lock, a lease, leadership; a waiter's deadline.
using acquire = caf::atom_constant<caf::atom("acquire")>;
using release = caf::atom_constant<caf::atom("release")>;
using timeout = caf::atom_constant<caf::atom("timeout")>;
using raise = caf::atom_constant<caf::atom("raise")>;
using lower = caf::atom_constant<caf::atom("lower")>;
using wait = caf::atom_constant<caf::atom("wait")>;
using enter = caf::atom_constant<caf::atom("enter")>;
using leave = caf::atom_constant<caf::atom("leave")>;
using add = caf::atom_constant<caf::atom("add")>;
using cas = caf::atom_constant<caf::atom("cas")>;
using take = caf::atom_constant<caf::atom("take")>;
} // namespace corral::atoms
