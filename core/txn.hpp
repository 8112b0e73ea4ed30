// Transactions: the idempotent, fully-resolved form of a write. The request processor turns a request
// into a txn (choosing the sequential name, the new versions, the expanded ACL); every server applies
// txns in zxid order and reaches the same tree. Txns are what the log stores and what replicas ship.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "core/membership.hpp"
#include "core/types.hpp"

namespace corral {

struct txn_create {
  std::string path;
  std::string data;
  acl_list acl;
  int64_t ephemeral_owner = 0;
  int32_t parent_cversion = 0; // the parent's cversion after this create
  bool null_data = false;      // see create_request
};
struct txn_delete {
  std::string path;
};
struct txn_set_data {
  std::string path;
  std::string data;
  int32_t version = 0; // the node's version after this write
  bool null_data = false;
};
struct txn_set_acl {
  std::string path;
  acl_list acl;
  int32_t version = 0; // the node's aversion after this write
};
struct txn_check {
  std::string path;
  int32_t version = -1;
};
struct txn_error {
  error_code err = error_code::ok;
  std::string detail; // what failed, for the client and the log (the path, or the reason)
};
using txn_op = std::variant<txn_create, txn_delete, txn_set_data, txn_set_acl, txn_check, txn_error>;

struct txn_multi {
  std::vector<txn_op> ops;
};
struct txn_create_session {
  int32_t timeout_ms = 0;
  std::string password;
};
struct txn_close_session {
  std::vector<std::string> ephemerals; // deleted in this txn, deepest first
};
// A new membership (its version is this txn's zxid): /zookeeper/config takes its text when applied,
// and the ZAB core counts quorums of the old and the new voters from when it is logged until it
// commits, then of the new ones (core/zab.hpp).
struct txn_reconfig {
  membership next;
};

using txn_body = std::variant<txn_create, txn_delete, txn_set_data, txn_set_acl, txn_check, txn_error, txn_multi,
                              txn_create_session, txn_close_session, txn_reconfig>;

struct txn {
  zxid_t zxid = 0;
  int64_t time = 0; // wall-clock milliseconds at the leader, used for ctime/mtime
  session_id session = 0;
  int32_t cxid = 0;
  txn_body body;
};

} // namespace corral
