// The recipes' message types (actors/client/recipe_types.hpp), allowed into CAF messages. They only
// travel between local actors, so they need no serializer. Every recipe header includes this.
#pragma once

#include "actors/client/recipe_types.hpp"
#include "actors/client/session.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::lock_kind)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::lock_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::lock_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::result<corral::client::lock_grant>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::result<corral::unit>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::leadership)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::take_leadership)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::leadership_lost)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::result<std::vector<corral::client::participant_info>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::result<bool>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::count_changed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::result<corral::client::versioned_count>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::result<corral::client::atomic_result>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::queue_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::queue_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::result<corral::client::queue_item>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::result<std::string>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::cache_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::cache_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::result<corral::client::cached_node>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<corral::client::cached_node>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::node_created)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::member_map)
