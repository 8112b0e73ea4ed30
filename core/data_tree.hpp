// The znode tree: nodes, their stats and ACLs, and the indexes the server needs (ephemerals per
// session, containers, TTL nodes). It applies txns and reports which watches they trigger; it does
// not validate requests (the request processor does). Owned by one thread: the state machine.
#pragma once

#include <cstdint>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/acl.hpp"
#include "core/compact_bytes.hpp"
#include "core/fatal.hpp"
#include "core/quota.hpp"
#include "core/sorted_children.hpp"
#include "core/txn.hpp"
#include "core/types.hpp"

namespace corral {

// What applying one txn did: per-op results (one for a plain txn, one per op for multi) and the
// watch triggers, in the order ZooKeeper fires them.
struct trigger {
  std::string path;
  event_type type;
};

struct apply_result {
  error_code err = error_code::ok;
  std::string detail;
  std::vector<op_result> ops;
  std::vector<trigger> triggers;
};

// A znode as a snapshot stores it: everything needed to rebuild it exactly.
struct node_image {
  std::string path;
  std::string data;
  bool null_data = false; // see create_request
  acl_list acl;
  int64_t czxid = 0, mzxid = 0, pzxid = 0, ctime = 0, mtime = 0;
  int64_t ephemeral_owner = 0;
  int32_t version = 0, cversion = 0, aversion = 0; // cversion: the stored count of child creates
};

class data_tree {
public:
  // A znode. Kept compact: the tree holds millions of them (120 bytes, a 128-byte heap chunk, plus
  // its data's own chunk). Children are sorted by name.
  struct node {
    std::string name;
    compact_bytes data;
    node* parent = nullptr;
    sorted_children<node> children;
    int64_t czxid = 0, mzxid = 0, pzxid = 0, ctime = 0, mtime = 0;
    int64_t ephemeral_owner = 0;
    int32_t version = 0, cversion = 0, aversion = 0;
    // The ACL's index in the tree's ACL table, and whether the data is null (create_request): one
    // word between them, since a bool of its own would add 8 bytes to every znode.
    uint32_t acl : 31;
    uint32_t null_data : 1;
    node() : acl(0), null_data(0) {}
    void set_acl(uint32_t id) {
      CORRAL_CHECK(id < (1u << 31), "tree", "ACL index ", id, " does not fit in 31 bits");
      acl = id & 0x7fffffffu;
    }
  };

  data_tree();
  data_tree(const data_tree&) = delete;
  data_tree& operator=(const data_tree&) = delete;

  const node* find(std::string_view path) const;
  node_stat stat_of(const node& n) const;
  const acl_list& acl_of(const node& n) const { return acls_.get(n.acl); }
  const acl_list& acl_of_id(uint32_t id) const { return acls_.get(id); }
  const std::shared_ptr<const acl_list>& shared_acl_of(const node& n) const { return acls_.shared(n.acl); }
  // A node's data as clients read it: the data, or for a quota's stats node its usage, or for
  // /zookeeper/config before any reconfig the membership the servers started with.
  std::string data_of(const node& n) const {
    auto d = derived_data(n);
    return d ? std::move(*d) : n.data.str();
  }
  std::optional<std::string> derived_data(const node& n) const;
  std::optional<std::string> quota_stats_text(const node& n) const;
  // What /zookeeper/config reads as until a reconfig writes it (the ensemble's starting
  // membership; empty for a standalone server, as in ZooKeeper). Not stored: every server of an
  // ensemble starts with the same one, and it is in no txn.
  void set_starting_config(std::string text) { starting_config_ = std::move(text); }
  std::vector<std::string> children_of(const node& n) const;

  // Applies a txn. Never fails half-way: a multi either applies every op or none.
  apply_result apply(const txn& t);

  // Paths of the ephemerals `session` owns, sorted.
  std::vector<std::string> ephemerals(session_id session) const;
  size_t ephemeral_count() const;
  const std::set<std::string>& containers() const { return containers_; }
  const std::set<std::string>& ttl_nodes() const { return ttls_; }
  size_t node_count() const { return node_count_; }
  size_t acl_count() const { return acls_.size(); }
  // Number of nodes below `path` (all depths), ZooKeeper's getAllChildrenNumber.
  int32_t descendant_count(const node& n) const;

  // The path of a node, rebuilt from its ancestors.
  static std::string path_of(const node& n);

  // A hash of the whole tree (every node's path, data, ACL and stat), updated with every change.
  // Two trees with the same digest hold the same znodes.
  uint64_t digest() const { return digest_; }

  // Snapshots walk the tree in pre-order, a chunk at a time, while it keeps changing: `cursor` is
  // the last path visited ("" to start). Appends up to `max` nodes; false once the walk is done.
  bool visit_after(std::string& cursor, size_t max, std::vector<node_image>& out) const;
  // The same walk, handing each node and its path to `f` in place, without an image (the snapshot
  // encoder reads the nodes themselves). `f` must not change the tree.
  bool for_each_after(std::string& cursor, size_t max,
                      const std::function<void(const node&, const std::string& path)>& f) const;
  node_image image_of(const node& n, std::string path) const;

  // Rebuilds a node from a snapshot; parents come before their children. Overwrites a node that
  // exists already (the root and /zookeeper). Call rebuild_quotas() once every node is in.
  void restore(const node_image& img);

  // Quotas (core/quota.hpp), as ZooKeeper's DataTree keeps them: a limit node registers its subtree,
  // and every create, delete and setData below it updates the subtree's usage. Nested quotas: the
  // deepest one counts a node. The usage is derived state: a stats node's data as read
  // (quota_stats_text) is the usage, while the node as stored, logged, snapshotted and hashed into
  // the digest keeps what its txns wrote. (ZooKeeper rewrites the stats node in place and leaves
  // /zookeeper out of its digest for that reason; this way the digest covers every node and a tree
  // recovered from an older snapshot still matches it.)
  struct quota_entry {
    quota::limits limits;
    quota::usage usage;
  };
  // The quota that covers `path` (and its subtree's path in `subtree`), or null.
  const quota_entry* quota_covering(std::string_view path, std::string* subtree = nullptr) const;
  // Re-reads every limit node and recounts every usage (after a snapshot is loaded or replaced).
  void rebuild_quotas();

private:
  node* find_mutable(std::string_view path);
  // Everything restore() takes from an image except the name, parent and ACL.
  static void fill_from_image(node& n, const node_image& img);
  op_result apply_op(const txn_op& op, const txn& t, std::vector<trigger>& triggers);
  op_result apply_single(const txn_create& c, const txn& t, std::vector<trigger>& triggers);
  op_result apply_single(const txn_delete& d, const txn& t, std::vector<trigger>& triggers);
  op_result apply_single(const txn_set_data& s, const txn& t, std::vector<trigger>& triggers);
  op_result apply_single(const txn_set_acl& s, const txn& t, std::vector<trigger>& triggers);
  op_result apply_single(const txn_check& c, const txn& t, std::vector<trigger>& triggers);
  op_result apply_single(const txn_error& e, const txn& t, std::vector<trigger>& triggers);
  op_result do_create(const txn_create& c, const txn& t, std::vector<trigger>& triggers);
  op_result do_delete(const std::string& path, zxid_t zxid, std::vector<trigger>& triggers);
  op_result do_set_data(const txn_set_data& s, const txn& t, std::vector<trigger>& triggers);
  op_result do_set_acl(const txn_set_acl& s);
  void index_add(const std::string& path, int64_t owner);
  void index_remove(const std::string& path, int64_t owner);
  void add_system_node(std::string_view path);
  uint64_t node_hash(const node& n, std::string_view path) const;
  // Adds or removes a node's contribution to the digest.
  void digest_in(const node& n, std::string_view path) { digest_ += node_hash(n, path); }
  void digest_out(const node& n, std::string_view path) { digest_ -= node_hash(n, path); }
  const node* next_in_preorder(const std::string& path, std::string& next_path) const;
  const node* step_preorder(const node* n, std::string& path) const;
  void quota_after_create(const std::string& path, int64_t bytes);
  void quota_after_delete(const std::string& path, int64_t bytes);
  void quota_after_set(const std::string& path, int64_t old_bytes, int64_t new_bytes);
  void register_quota(const std::string& subtree, const std::string& limit_data);
  quota::usage count_subtree(const std::string& subtree) const;
  void recount_enclosing(const std::string& subtree);

  std::unique_ptr<node> root_;
  acl_cache acls_;
  std::unordered_map<session_id, std::set<std::string>> ephemerals_;
  std::set<std::string> containers_;
  std::set<std::string> ttls_;
  size_t node_count_ = 0;
  uint64_t digest_ = 0;
  std::map<std::string, quota_entry, std::less<>> quotas_; // by subtree
  std::string starting_config_;
  node* config_node_ = nullptr;
};

} // namespace corral
