// The plain structs that travel in CAF messages between local actors (client and server). They go
// between actors of one process only (never over BASP), so they are declared unsafe-but-allowed
// rather than given serializers; everything that crosses a machine is Cap'n Proto (see protocol/).
// Light: caf/allowed_unsafe_message_type.hpp and the structs' own headers.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>

#include "core/database.hpp"
#include "core/request_pipeline.hpp" // shared_txn
#include "persistence/record_codec.hpp"
#include "protocol/client_codec.hpp"
#include "protocol/four_letter_words.hpp"
#include "protocol/jute_codec.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::request_body)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::watch_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::protocol::connect_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::protocol::connect_response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::protocol::jute::decoded_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::protocol::server_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::shared_txn)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::persistence::digest_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::persistence::snapshot_header)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::persistence::snapshot_trailer)
