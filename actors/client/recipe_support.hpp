// Helpers that every recipe actor (actors/client) uses to talk to its session actor, and the small
// encodings Curator's recipes put in node data. Include only from actors/client/*.cpp.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "actors/client/session.hpp"

namespace corral::client::detail {

using reply_fn = std::function<void(response&)>;

// Sends `body` through the session and calls `fn` with the answer. A session actor that is gone
// answers SessionExpired.
void ask(caf::event_based_actor* self, const caf::actor& session, request_body body, reply_fn fn);
// The same with a watch whose events come to `self` as watch_event messages.
void ask_watch(caf::event_based_actor* self, const caf::actor& session, request_body body, reply_fn fn);

// Creates `path` and its parents as containers (Curator's creatingParentContainersIfNeeded), without
// waiting: the session sends requests in order, so a request sent after this sees them.
void make_containers(caf::event_based_actor* self, const caf::actor& session, const std::string& path);

// Curator's rule for what a recipe holds: disconnected for a whole session timeout, it is lost (the
// server counts the timeout from the last thing it heard, which is no later than what we heard).
// Asks the session for its timeout and then sends (atoms::expired, epoch) to `self`; the recipe
// ignores it if it has reconnected (or disconnected again: a newer epoch) meanwhile.
void start_loss_clock(caf::event_based_actor* self, const caf::actor& session, uint64_t epoch);

// A version 4 UUID, as Curator's protection prefix uses (java.util.UUID.randomUUID()).
std::string random_uuid();

// Curator's SharedCount keeps a 4-byte big-endian int, DistributedAtomicLong an 8-byte one.
std::string encode_be(int64_t v, size_t bytes);
// The value, or nothing if `data` is not exactly `bytes` long.
std::optional<int64_t> decode_be(const std::string& data, size_t bytes);

} // namespace corral::client::detail
