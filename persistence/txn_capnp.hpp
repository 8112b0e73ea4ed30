// A txn <-> storage::TxnRecord, for code that embeds txns in its own Cap'n Proto messages (the
// replication protocol ships the same records the log stores). Includes generated capnp headers:
// for codecs only.
#pragma once

#include "core/txn.hpp"
#include "storage.capnp.h"

namespace corral::persistence {

void put_txn(storage::TxnRecord::Builder b, const txn& t);
// Decoding trusts nothing: DataInconsistency on a record that is not a txn or does not parse.
result<txn> get_txn(storage::TxnRecord::Reader r);

} // namespace corral::persistence
