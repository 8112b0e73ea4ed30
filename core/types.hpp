// The vocabulary shared by every layer: the znode Stat, create modes and their encoding in
// ephemeralOwner, ZooKeeper's op codes, watch event types and states, and the requests, responses
// and events that the server core takes and produces. Plain data; no behaviour beyond small helpers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/acl.hpp"
#include "core/error.hpp"

namespace corral {

using session_id = int64_t;
using zxid_t = int64_t;

// A zxid is (epoch << 32) | counter, as ZooKeeper's: the epoch of the leader that proposed the txn
// and the txn's count within that epoch (from 1). Every part of Corral reads and builds zxids with these.
inline uint64_t epoch_of(zxid_t z) { return static_cast<uint64_t>(z) >> 32; }
inline uint32_t counter_of(zxid_t z) { return static_cast<uint32_t>(static_cast<uint64_t>(z) & 0xffffffffu); }
inline zxid_t make_zxid(uint64_t epoch, uint32_t counter) { return static_cast<zxid_t>((epoch << 32) | counter); }
// True if `next` comes right after `prev` in a log: the next counter, or the first txn of a later epoch.
inline bool zxid_follows(zxid_t prev, zxid_t next) {
  return next == prev + 1 || (epoch_of(next) > epoch_of(prev) && counter_of(next) == 1);
}

// Field for field ZooKeeper's Stat (and in its wire order).
struct node_stat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  int64_t ephemeral_owner = 0;
  int32_t data_length = 0;
  int32_t num_children = 0;
  int64_t pzxid = 0;
  friend bool operator==(const node_stat& a, const node_stat& b);
  friend bool operator!=(const node_stat& a, const node_stat& b) { return !(a == b); }
};

// ZooKeeper's CreateMode flags.
enum class create_mode : int32_t {
  persistent = 0,
  ephemeral = 1,
  persistent_sequential = 2,
  ephemeral_sequential = 3,
  container = 4,
  persistent_with_ttl = 5,
  persistent_sequential_with_ttl = 6,
};

bool is_sequential(create_mode m);
bool is_ephemeral(create_mode m);
bool is_ttl(create_mode m);
bool valid_create_mode(int32_t raw);

// ZooKeeper packs the node kind into ephemeralOwner: a session id for ephemerals, the top bit for
// containers, 0xFF in the top byte plus the TTL in milliseconds for TTL nodes.
namespace owner {
constexpr int64_t container = INT64_MIN;
constexpr int64_t ttl_mask = static_cast<int64_t>(0xFF00000000000000ull);
constexpr int64_t max_ttl = (int64_t{1} << 40) - 1;
inline bool is_container(int64_t o) { return o == container; }
inline bool is_ttl(int64_t o) { return (o & ttl_mask) == ttl_mask && o != -1; }
inline int64_t ttl_of(int64_t o) { return o & ~ttl_mask; }
inline int64_t make_ttl(int64_t ttl) { return ttl_mask | ttl; }
inline bool is_ephemeral_session(int64_t o) { return o != 0 && !is_container(o) && !is_ttl(o); }
} // namespace owner

// ZooKeeper's OpCode numbers.
enum class op_code : int32_t {
  notification = 0,
  create = 1,
  remove = 2,
  exists = 3,
  get_data = 4,
  set_data = 5,
  get_acl = 6,
  set_acl = 7,
  get_children = 8,
  sync = 9,
  ping = 11,
  get_children2 = 12,
  check = 13,
  multi = 14,
  create2 = 15,
  reconfig = 16,
  check_watches = 17,
  remove_watches = 18,
  create_container = 19,
  delete_container = 20,
  create_ttl = 21,
  multi_read = 22,
  auth = 100,
  set_watches = 101,
  sasl = 102,
  get_ephemerals = 103,
  get_all_children_number = 104,
  set_watches2 = 105,
  add_watch = 106,
  who_am_i = 107,
  create_session = -10,
  close_session = -11,
  error = -1,
};

enum class event_type : int32_t {
  none = -1,
  node_created = 1,
  node_deleted = 2,
  node_data_changed = 3,
  node_children_changed = 4,
  data_watch_removed = 5,
  child_watch_removed = 6,
  persistent_watch_removed = 7,
};

enum class keeper_state : int32_t {
  disconnected = 0,
  sync_connected = 3,
  auth_failed = 4,
  connected_read_only = 5,
  sasl_authenticated = 6,
  expired = -112,
  closed = 7,
};

const char* event_type_name(event_type t);
const char* keeper_state_name(keeper_state s);

struct watch_event {
  event_type type = event_type::none;
  keeper_state state = keeper_state::sync_connected;
  std::string path;
  zxid_t zxid = 0; // the txn that fired it (ZooKeeper sends -1 on the wire)
};

// addWatch modes and removeWatches types, ZooKeeper's numbers.
enum class add_watch_mode : int32_t { persistent = 0, persistent_recursive = 1 };
enum class watcher_type : int32_t { children = 1, data = 2, any = 3, persistent = 4, persistent_recursive = 5 };

// ---- requests ----------------------------------------------------------------------------------

// `null_data`: the client sent no data at all (ZooKeeper's null byte array, length -1 on the wire),
// which ZooKeeper keeps apart from empty data: a getData answers null, not "". `data` is then empty.
struct create_request {
  std::string path;
  std::string data;
  acl_list acl;
  create_mode mode = create_mode::persistent;
  int64_t ttl = -1;
  bool null_data = false;
};
struct delete_request {
  std::string path;
  int32_t version = -1;
};
struct exists_request {
  std::string path;
  bool watch = false;
};
struct get_data_request {
  std::string path;
  bool watch = false;
};
struct set_data_request {
  std::string path;
  std::string data;
  int32_t version = -1;
  bool null_data = false; // see create_request
};
struct get_acl_request {
  std::string path;
};
struct set_acl_request {
  std::string path;
  acl_list acl;
  int32_t version = -1;
};
struct get_children_request {
  std::string path;
  bool watch = false;
};
struct sync_request {
  std::string path;
};
struct check_request {
  std::string path;
  int32_t version = -1;
};
using multi_op = std::variant<create_request, delete_request, set_data_request, check_request>;
struct multi_request {
  std::vector<multi_op> ops;
};
using read_op = std::variant<get_children_request, get_data_request>;
struct multi_read_request {
  std::vector<read_op> ops;
};
struct get_ephemerals_request {
  std::string prefix;
};
struct get_all_children_number_request {
  std::string path;
};
struct add_watch_request {
  std::string path;
  add_watch_mode mode = add_watch_mode::persistent;
};
struct remove_watches_request {
  std::string path;
  watcher_type type = watcher_type::any;
  bool check_only = false; // checkWatches: NoWatcher if there is none, but remove nothing
};
struct set_watches_request {
  zxid_t relative_zxid = 0;
  std::vector<std::string> data;
  std::vector<std::string> exist;
  std::vector<std::string> child;
  std::vector<std::string> persistent;
  std::vector<std::string> persistent_recursive;
};
struct auth_request {
  std::string scheme;
  std::string credentials;
};
struct who_am_i_request {};
struct ping_request {};
struct close_request {};
// One step of a SASL exchange (ZooKeeper's op 102): the client's token; the answer's body is the
// server's next token (a std::string). Handled by the server the client is connected to.
struct sasl_request {
  std::string token;
};
// Dynamic reconfiguration (ZooKeeper's ReconfigRequest): servers joining (server lines) and leaving
// (ids), or the whole new membership; each may be absent (null on the wire). `from_config` is the
// membership version the client saw (-1: any). See core/membership.hpp for the forms.
struct reconfig_request {
  std::optional<std::string> joining, leaving, members;
  int64_t from_config = -1;
};

using request_body =
    std::variant<create_request, delete_request, exists_request, get_data_request, set_data_request, get_acl_request,
                 set_acl_request, get_children_request, sync_request, check_request, multi_request, multi_read_request,
                 get_ephemerals_request, get_all_children_number_request, add_watch_request, remove_watches_request,
                 set_watches_request, auth_request, who_am_i_request, ping_request, close_request, reconfig_request,
                 sasl_request>;

struct request {
  int32_t xid = 0;
  request_body body;
};

// True for requests that change the tree or the session table (they become txns).
bool is_write(const request_body& body);
const char* request_name(const request_body& body);

// ---- responses ---------------------------------------------------------------------------------

// One op's outcome inside multi / multiRead.
struct op_result {
  op_code type = op_code::error;
  error_code err = error_code::ok;
  std::string path;                  // create: the actual path
  node_stat stat;                    // create, setData, getData
  std::string data;                  // getData
  bool null_data = false;            // getData of a node whose data is null
  std::vector<std::string> children; // getChildren
};

struct create_result {
  std::string path;
  node_stat stat;
};
struct data_result {
  std::string data;
  node_stat stat;
  bool null_data = false; // the node's data is null (see create_request)
};
struct children_result {
  std::vector<std::string> children;
  node_stat stat;
};
struct acl_result {
  acl_list acl;
  node_stat stat;
};

using response_body = std::variant<std::monostate, create_result, node_stat, data_result, children_result, acl_result,
                                   std::vector<op_result>, std::vector<std::string>, int32_t, auth_list, std::string>;

struct response {
  int32_t xid = 0;
  zxid_t zxid = 0;
  error_code err = error_code::ok;
  std::string detail; // human-readable reason for the error (native protocol only)
  response_body body;
};

} // namespace corral
