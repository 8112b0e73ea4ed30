#include "core/overload.hpp"
#include "core/types.hpp"

namespace corral {

bool operator==(const node_stat& a, const node_stat& b) {
  return a.czxid == b.czxid && a.mzxid == b.mzxid && a.ctime == b.ctime && a.mtime == b.mtime &&
         a.version == b.version && a.cversion == b.cversion && a.aversion == b.aversion &&
         a.ephemeral_owner == b.ephemeral_owner && a.data_length == b.data_length && a.num_children == b.num_children &&
         a.pzxid == b.pzxid;
}

bool is_sequential(create_mode m) {
  return m == create_mode::persistent_sequential || m == create_mode::ephemeral_sequential ||
         m == create_mode::persistent_sequential_with_ttl;
}

bool is_ephemeral(create_mode m) { return m == create_mode::ephemeral || m == create_mode::ephemeral_sequential; }

bool is_ttl(create_mode m) {
  return m == create_mode::persistent_with_ttl || m == create_mode::persistent_sequential_with_ttl;
}

bool valid_create_mode(int32_t raw) { return raw >= 0 && raw <= 6; }

const char* event_type_name(event_type t) {
  switch (t) {
    case event_type::none: return "None";
    case event_type::node_created: return "NodeCreated";
    case event_type::node_deleted: return "NodeDeleted";
    case event_type::node_data_changed: return "NodeDataChanged";
    case event_type::node_children_changed: return "NodeChildrenChanged";
    case event_type::data_watch_removed: return "DataWatchRemoved";
    case event_type::child_watch_removed: return "ChildWatchRemoved";
    case event_type::persistent_watch_removed: return "PersistentWatchRemoved";
  }
  return "Unknown";
}

const char* keeper_state_name(keeper_state s) {
  switch (s) {
    case keeper_state::disconnected: return "Disconnected";
    case keeper_state::sync_connected: return "SyncConnected";
    case keeper_state::auth_failed: return "AuthFailed";
    case keeper_state::connected_read_only: return "ConnectedReadOnly";
    case keeper_state::sasl_authenticated: return "SaslAuthenticated";
    case keeper_state::expired: return "Expired";
    case keeper_state::closed: return "Closed";
  }
  return "Unknown";
}

bool is_write(const request_body& body) {
  return std::visit(overload{[](const create_request&) { return true; }, [](const delete_request&) { return true; },
                             [](const set_data_request&) { return true; }, [](const set_acl_request&) { return true; },
                             [](const check_request&) { return true; }, [](const multi_request&) { return true; },
                             [](const close_request&) { return true; }, [](const reconfig_request&) { return true; },
                             [](const auto&) { return false; }},
                    body);
}

const char* request_name(const request_body& body) {
  static const char* names[] = {
      "create",      "delete",        "exists",     "getData", "setData",   "getACL",        "setACL",
      "getChildren", "sync",          "check",      "multi",   "multiRead", "getEphemerals", "getAllChildrenNumber",
      "addWatch",    "removeWatches", "setWatches", "auth",    "whoAmI",    "ping",          "closeSession",
      "reconfig",    "sasl"};
  static_assert(sizeof(names) / sizeof(names[0]) == std::variant_size_v<request_body>);
  return names[body.index()];
}

} // namespace corral
