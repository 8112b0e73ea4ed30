#include "core/overload.hpp"
#include "core/data_tree.hpp"

#include <algorithm>
#include <functional>

#include "core/fatal.hpp"
#include "core/hash.hpp"
#include "core/path.hpp"

namespace corral {

namespace {

using node = data_tree::node;

} // namespace

data_tree::data_tree() : root_(std::make_unique<node>()) {
  root_->set_acl(acls_.intern(open_acl_unsafe()));
  node_count_ = 1;
  digest_in(*root_, "/");
  add_system_node("/zookeeper");
  add_system_node("/zookeeper/quota");
  add_system_node(config_path);
  config_node_ = find_mutable(config_path);
}

uint64_t data_tree::node_hash(const node& n, std::string_view path) const {
  uint64_t h = hash64(path.data(), path.size());
  h = hash64(n.data.data(), n.data.size(), h);
  int64_t fields[] = {n.czxid,           n.mzxid,   n.pzxid,    n.ctime,   n.mtime,
                      n.ephemeral_owner, n.version, n.cversion, n.aversion};
  h = hash64(fields, sizeof fields, h);
  for (auto& e : acls_.get(n.acl)) {
    h = hash64(&e.perms, sizeof e.perms, h);
    h = hash64(e.scheme.data(), e.scheme.size(), h);
    h = hash64(e.id.data(), e.id.size(), h);
  }
  // Null data differs from empty data. Mixed in only when set, so a tree without null data keeps
  // the digest it had before null data was told apart (snapshots on disk recorded those).
  if (n.null_data) {
    static constexpr char null_mark[] = "null data";
    h = hash64(null_mark, sizeof null_mark, h);
  }
  return h;
}

void data_tree::add_system_node(std::string_view path) {
  auto* parent = find_mutable(parent_of(path));
  CORRAL_CHECK(parent != nullptr, "tree", "system node ", path, " added before its parent");
  auto child = std::make_unique<node>();
  child->name = std::string(basename_of(path));
  child->parent = parent;
  child->set_acl(acls_.intern(path == "/zookeeper/config" ? read_acl_unsafe() : open_acl_unsafe()));
  digest_in(*child, path);
  parent->children.insert(std::move(child));
  ++node_count_;
}

const node* data_tree::find(std::string_view path) const { return const_cast<data_tree*>(this)->find_mutable(path); }

node* data_tree::find_mutable(std::string_view path) {
  if (path.empty() || path[0] != '/')
    return nullptr;
  node* cur = root_.get();
  size_t pos = 1;
  while (pos < path.size()) {
    auto slash = path.find('/', pos);
    auto name = path.substr(pos, slash == path.npos ? path.npos : slash - pos);
    cur = cur->children.find(name);
    if (cur == nullptr)
      return nullptr;
    if (slash == path.npos)
      break;
    pos = slash + 1;
  }
  return cur;
}

node_stat data_tree::stat_of(const node& n) const {
  node_stat s;
  s.czxid = n.czxid;
  s.mzxid = n.mzxid;
  s.pzxid = n.pzxid;
  s.ctime = n.ctime;
  s.mtime = n.mtime;
  s.version = n.version;
  s.aversion = n.aversion;
  s.num_children = static_cast<int32_t>(n.children.size());
  // The stored cversion counts child creates (it names sequential children); ZooKeeper reports
  // the count of child changes, which is every create plus every delete.
  s.cversion = n.cversion * 2 - s.num_children;
  s.ephemeral_owner = owner::is_ephemeral_session(n.ephemeral_owner) ? n.ephemeral_owner : 0;
  s.data_length = static_cast<int32_t>(n.data.size());
  if (auto text = derived_data(n))
    s.data_length = static_cast<int32_t>(text->size());
  return s;
}

std::vector<std::string> data_tree::children_of(const node& n) const {
  std::vector<std::string> out;
  out.reserve(n.children.size());
  n.children.for_each([&](const node& c) { out.push_back(c.name); });
  return out;
}

int32_t data_tree::descendant_count(const node& n) const {
  int32_t total = 0;
  std::vector<const node*> stack{&n};
  while (!stack.empty()) {
    auto* cur = stack.back();
    stack.pop_back();
    cur->children.for_each([&](const node& c) {
      ++total;
      stack.push_back(&c);
    });
  }
  return total;
}

std::string data_tree::path_of(const node& n) {
  if (n.parent == nullptr)
    return "/";
  std::vector<const node*> chain;
  for (auto* cur = &n; cur->parent != nullptr; cur = cur->parent)
    chain.push_back(cur);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    out += '/';
    out += (*it)->name;
  }
  return out;
}

std::vector<std::string> data_tree::ephemerals(session_id session) const {
  auto it = ephemerals_.find(session);
  if (it == ephemerals_.end())
    return {};
  return {it->second.begin(), it->second.end()};
}

size_t data_tree::ephemeral_count() const {
  size_t n = 0;
  for (auto& [s, paths] : ephemerals_)
    n += paths.size();
  return n;
}

void data_tree::index_add(const std::string& path, int64_t owner) {
  if (owner::is_container(owner))
    containers_.insert(path);
  else if (owner::is_ttl(owner))
    ttls_.insert(path);
  else if (owner != 0)
    ephemerals_[owner].insert(path);
}

void data_tree::index_remove(const std::string& path, int64_t owner) {
  if (owner::is_container(owner)) {
    containers_.erase(path);
  } else if (owner::is_ttl(owner)) {
    ttls_.erase(path);
  } else if (owner != 0) {
    auto it = ephemerals_.find(owner);
    if (it != ephemerals_.end()) {
      it->second.erase(path);
      if (it->second.empty())
        ephemerals_.erase(it);
    }
  }
}

op_result data_tree::do_create(const txn_create& c, const txn& t, std::vector<trigger>& triggers) {
  op_result r;
  r.type = op_code::create;
  auto* parent = find_mutable(parent_of(c.path));
  if (parent == nullptr) {
    r.err = error_code::no_node;
    return r;
  }
  auto name = basename_of(c.path);
  auto parent_path = parent_of(c.path);
  if (parent->children.find(name) != nullptr) {
    // Only a replay over a fuzzy snapshot gets here: the node was captured, but its parent was
    // captured before this create counted, so the parent's counter must still move (as ZooKeeper does).
    if (c.parent_cversion > parent->cversion) {
      digest_out(*parent, parent_path);
      parent->cversion = c.parent_cversion;
      parent->pzxid = t.zxid;
      digest_in(*parent, parent_path);
    }
    r.err = error_code::node_exists;
    return r;
  }
  auto child = std::make_unique<node>();
  child->name = std::string(name);
  child->data = c.data;
  child->null_data = c.null_data;
  child->parent = parent;
  child->czxid = child->mzxid = child->pzxid = t.zxid;
  child->ctime = child->mtime = t.time;
  child->ephemeral_owner = c.ephemeral_owner;
  child->set_acl(acls_.intern(c.acl));
  auto* raw = parent->children.insert(std::move(child));
  digest_in(*raw, c.path);
  // Replayed txns may be older than the parent's state (fuzzy snapshots): never move it back.
  if (c.parent_cversion > parent->cversion) {
    digest_out(*parent, parent_path);
    parent->cversion = c.parent_cversion;
    parent->pzxid = t.zxid;
    digest_in(*parent, parent_path);
  }
  ++node_count_;
  index_add(c.path, c.ephemeral_owner);
  quota_after_create(c.path, static_cast<int64_t>(c.data.size()));
  r.path = c.path;
  r.stat = stat_of(*raw);
  triggers.push_back({c.path, event_type::node_created});
  triggers.push_back({std::string(parent_of(c.path)), event_type::node_children_changed});
  return r;
}

op_result data_tree::do_delete(const std::string& path, zxid_t zxid, std::vector<trigger>& triggers) {
  op_result r;
  r.type = op_code::remove;
  auto* n = find_mutable(path);
  auto parent_path = parent_of(path);
  if (n == nullptr || n->parent == nullptr) {
    // Replay over a fuzzy snapshot: the node was gone when captured, its parent captured earlier.
    if (auto* parent = find_mutable(parent_path); parent != nullptr && n == nullptr && zxid > parent->pzxid) {
      digest_out(*parent, parent_path);
      parent->pzxid = zxid;
      digest_in(*parent, parent_path);
    }
    r.err = error_code::no_node;
    return r;
  }
  if (!n->children.empty()) {
    r.err = error_code::not_empty;
    return r;
  }
  auto* parent = n->parent;
  auto bytes = static_cast<int64_t>(n->data.size());
  index_remove(path, n->ephemeral_owner);
  digest_out(*n, path);
  acls_.release(n->acl);
  auto gone = parent->children.erase(n->name);
  if (zxid > parent->pzxid) {
    digest_out(*parent, parent_path);
    parent->pzxid = zxid;
    digest_in(*parent, parent_path);
  }
  --node_count_;
  quota_after_delete(path, bytes);
  triggers.push_back({path, event_type::node_deleted});
  triggers.push_back({std::string(parent_of(path)), event_type::node_children_changed});
  return r;
}

op_result data_tree::do_set_data(const txn_set_data& s, const txn& t, std::vector<trigger>& triggers) {
  op_result r;
  r.type = op_code::set_data;
  auto* n = find_mutable(s.path);
  if (n == nullptr) {
    r.err = error_code::no_node;
    return r;
  }
  auto old_bytes = static_cast<int64_t>(n->data.size());
  digest_out(*n, s.path);
  n->data = s.data;
  n->null_data = s.null_data;
  n->version = s.version;
  n->mzxid = t.zxid;
  n->mtime = t.time;
  digest_in(*n, s.path);
  quota_after_set(s.path, old_bytes, static_cast<int64_t>(s.data.size()));
  r.stat = stat_of(*n);
  triggers.push_back({s.path, event_type::node_data_changed});
  return r;
}

op_result data_tree::do_set_acl(const txn_set_acl& s) {
  op_result r;
  r.type = op_code::set_acl;
  auto* n = find_mutable(s.path);
  if (n == nullptr) {
    r.err = error_code::no_node;
    return r;
  }
  digest_out(*n, s.path);
  auto id = acls_.intern(s.acl);
  acls_.release(n->acl);
  n->set_acl(id);
  n->aversion = s.version;
  digest_in(*n, s.path);
  r.stat = stat_of(*n);
  return r;
}

node_image data_tree::image_of(const node& n, std::string path) const {
  node_image img;
  img.path = std::move(path);
  img.data = n.data.str();
  img.null_data = n.null_data;
  img.acl = acls_.get(n.acl);
  img.czxid = n.czxid;
  img.mzxid = n.mzxid;
  img.pzxid = n.pzxid;
  img.ctime = n.ctime;
  img.mtime = n.mtime;
  img.ephemeral_owner = n.ephemeral_owner;
  img.version = n.version;
  img.cversion = n.cversion;
  img.aversion = n.aversion;
  return img;
}

const data_tree::node* data_tree::next_in_preorder(const std::string& path, std::string& next_path) const {
  if (path.empty()) {
    next_path = "/";
    return root_.get();
  }
  if (auto* n = find(path); n != nullptr && !n->children.empty()) {
    next_path = join_path(path, n->children.front()->name);
    return n->children.front();
  }
  // No children (or gone): the next sibling of the nearest ancestor-or-self that has one.
  std::string cur = path;
  while (cur != "/") {
    auto parent_path = std::string(parent_of(cur));
    auto name = basename_of(cur);
    if (auto* parent = find(parent_path); parent != nullptr) {
      if (auto* next = parent->children.upper_bound(name)) {
        next_path = join_path(parent_path, next->name);
        return next;
      }
    }
    cur = parent_path;
  }
  return nullptr;
}

// The node after `n` in pre-order, by pointers; `path` (n's) becomes the next node's.
const data_tree::node* data_tree::step_preorder(const node* n, std::string& path) const {
  if (auto* first = n->children.front()) {
    if (path.size() > 1)
      path += '/';
    path += first->name;
    return first;
  }
  while (n->parent != nullptr) {
    auto* parent = n->parent;
    path.resize(path.size() - n->name.size());
    if (auto* next = parent->children.upper_bound(n->name)) {
      path += next->name;
      return next;
    }
    if (path.size() > 1)
      path.pop_back(); // the '/' before n's name
    n = parent;
  }
  return nullptr;
}

// The chunk's first node is found from the cursor's path (the tree may have changed since the last
// chunk); within a chunk nothing changes (the walk runs in one turn of the tree's one writer), so
// the rest follow by pointers instead of a search from the root for every node.
bool data_tree::for_each_after(std::string& cursor, size_t max,
                               const std::function<void(const node&, const std::string& path)>& f) const {
  std::string path;
  auto* n = next_in_preorder(cursor, path);
  for (size_t i = 0; i < max; ++i) {
    if (n == nullptr)
      return false;
    f(*n, path);
    cursor = path;
    n = step_preorder(n, path);
  }
  return true;
}

bool data_tree::visit_after(std::string& cursor, size_t max, std::vector<node_image>& out) const {
  return for_each_after(cursor, max, [&](const node& n, const std::string& path) { out.push_back(image_of(n, path)); });
}

void data_tree::restore(const node_image& img) {
  // Snapshot nodes come in pre-order. One that does not (a damaged snapshot whose frames still pass
  // their checksums) is skipped: the tree's digest then differs from the one the snapshot recorded,
  // and recovery says so and tries an older snapshot.
  node* n = nullptr;
  if (img.path == "/") {
    n = root_.get();
  } else {
    auto* parent = find_mutable(parent_of(img.path));
    if (parent == nullptr)
      return;
    n = parent->children.find(basename_of(img.path));
    if (n == nullptr) {
      // A new node is filled in and hashed once (a restart builds every node this way).
      auto child = std::make_unique<node>();
      child->name = std::string(basename_of(img.path));
      child->parent = parent;
      child->set_acl(acls_.intern(img.acl));
      n = parent->children.insert(std::move(child));
      ++node_count_;
      fill_from_image(*n, img);
      index_add(img.path, img.ephemeral_owner);
      digest_in(*n, img.path);
      return;
    }
  }
  // One that exists already (the root, /zookeeper and its system nodes) is overwritten.
  digest_out(*n, img.path);
  index_remove(img.path, n->ephemeral_owner);
  auto acl = acls_.intern(img.acl);
  acls_.release(n->acl);
  n->set_acl(acl);
  fill_from_image(*n, img);
  index_add(img.path, img.ephemeral_owner);
  digest_in(*n, img.path);
}

void data_tree::fill_from_image(node& n, const node_image& img) {
  n.data = img.data;
  n.null_data = img.null_data;
  n.czxid = img.czxid;
  n.mzxid = img.mzxid;
  n.pzxid = img.pzxid;
  n.ctime = img.ctime;
  n.mtime = img.mtime;
  n.ephemeral_owner = img.ephemeral_owner;
  n.version = img.version;
  n.cversion = img.cversion;
  n.aversion = img.aversion;
}

op_result data_tree::apply_op(const txn_op& op, const txn& t, std::vector<trigger>& triggers) {
  return std::visit([&](const auto& x) { return apply_single(x, t, triggers); }, op);
}

// One op of each kind, applied where it is: a txn that is one op is not wrapped in a txn_op for
// it (a copy of its path, data and ACL per write, measured at 3-5% of a create's server time).
op_result data_tree::apply_single(const txn_create& c, const txn& t, std::vector<trigger>& triggers) {
  return do_create(c, t, triggers);
}
op_result data_tree::apply_single(const txn_delete& d, const txn& t, std::vector<trigger>& triggers) {
  return do_delete(d.path, t.zxid, triggers);
}
op_result data_tree::apply_single(const txn_set_data& s, const txn& t, std::vector<trigger>& triggers) {
  return do_set_data(s, t, triggers);
}
op_result data_tree::apply_single(const txn_set_acl& s, const txn&, std::vector<trigger>&) { return do_set_acl(s); }
op_result data_tree::apply_single(const txn_check& c, const txn&, std::vector<trigger>&) {
  op_result r;
  r.type = op_code::check;
  if (find(c.path) == nullptr)
    r.err = error_code::no_node;
  return r;
}
op_result data_tree::apply_single(const txn_error& e, const txn&, std::vector<trigger>&) {
  op_result r;
  r.type = op_code::error;
  r.err = e.err;
  return r;
}

apply_result data_tree::apply(const txn& t) {
  apply_result out;
  std::visit(overload{[&](const txn_multi& m) {
                        bool failed = std::any_of(m.ops.begin(), m.ops.end(), [](const txn_op& op) {
                          return std::holds_alternative<txn_error>(op);
                        });
                        for (auto& op : m.ops) {
                          if (failed) {
                            // A failed multi is recorded as error ops only; nothing changes.
                            op_result r;
                            r.type = op_code::error;
                            r.err = std::get<txn_error>(op).err;
                            out.ops.push_back(std::move(r));
                          } else {
                            out.ops.push_back(apply_op(op, t, out.triggers));
                          }
                        }
                        if (failed) {
                          for (auto& op : m.ops) {
                            auto& e = std::get<txn_error>(op);
                            if (e.err != error_code::ok && e.err != error_code::runtime_inconsistency) {
                              out.err = e.err;
                              out.detail = e.detail;
                              break;
                            }
                          }
                        }
                      },
                      [&](const txn_create_session&) {},
                      [&](const txn_close_session& c) {
                        for (auto& path : c.ephemerals) {
                          auto* n = find(path);
                          if (n != nullptr && n->ephemeral_owner == t.session)
                            do_delete(path, t.zxid, out.triggers);
                        }
                      },
                      [&](const txn_error& e) {
                        out.err = e.err;
                        out.detail = e.detail;
                      },
                      [&](const txn_reconfig& r) {
                        // The new membership's text becomes /zookeeper/config's data, a change like
                        // a setData (its mzxid moves, its watchers hear of it).
                        // Version -1, as ZooKeeper's reconfig txn leaves it (its mzxid is what moves).
                        txn_set_data set{std::string(config_path), config_text(r.next), -1, false};
                        out.ops.push_back(apply_single(set, t, out.triggers));
                        out.err = out.ops.back().err;
                      },
                      [&](const auto& single) {
                        out.ops.push_back(apply_single(single, t, out.triggers));
                        out.err = out.ops.back().err;
                      }},
             t.body);
  return out;
}

// ---- quotas ----------------------------------------------------------------------------------

namespace {

bool under_quota_root(std::string_view path) {
  return path.size() > quota::root.size() && path.substr(0, quota::root.size()) == quota::root &&
         path[quota::root.size()] == '/';
}

// Quotas on the server's own nodes would count the quota nodes themselves: not kept.
bool system_subtree(std::string_view subtree) {
  return subtree == "/zookeeper" || subtree.substr(0, 11) == "/zookeeper/";
}

} // namespace

const data_tree::quota_entry* data_tree::quota_covering(std::string_view path, std::string* subtree) const {
  if (quotas_.empty())
    return nullptr;
  for (auto p = path; p.size() > 1; p = parent_of(p)) {
    if (auto it = quotas_.find(p); it != quotas_.end()) {
      if (subtree != nullptr)
        *subtree = it->first;
      return &it->second;
    }
  }
  return nullptr;
}

std::optional<std::string> data_tree::derived_data(const node& n) const {
  if (&n == config_node_ && n.data.empty() && !starting_config_.empty())
    return starting_config_;
  return quota_stats_text(n);
}

std::optional<std::string> data_tree::quota_stats_text(const node& n) const {
  if (quotas_.empty() || n.name != quota::stat_node)
    return std::nullopt;
  auto sub = quota::subtree_of_stat_node(path_of(n));
  if (!sub)
    return std::nullopt;
  auto it = quotas_.find(*sub);
  if (it == quotas_.end())
    return std::nullopt;
  return quota::format_usage(it->second.usage);
}

void data_tree::register_quota(const std::string& subtree, const std::string& limit_data) {
  if (system_subtree(subtree))
    return;
  auto& q = quotas_[subtree];
  q.limits = quota::parse(limit_data);
  q.usage = count_subtree(subtree);
}

// The znodes of `subtree` (itself included) and their data bytes, leaving out nested quotas'
// subtrees (the deepest quota counts a node).
quota::usage data_tree::count_subtree(const std::string& subtree) const {
  quota::usage u;
  auto* top = find(subtree);
  if (top == nullptr)
    return u;
  std::function<void(const node&, const std::string&)> walk = [&](const node& n, const std::string& path) {
    u.count += 1;
    u.bytes += static_cast<int64_t>(n.data.size());
    n.children.for_each([&](const node& c) {
      auto child = path + "/" + c.name;
      if (quotas_.count(child) == 0)
        walk(c, child);
    });
  };
  walk(*top, subtree);
  return u;
}

void data_tree::quota_after_create(const std::string& path, int64_t bytes) {
  if (under_quota_root(path)) {
    if (auto sub = quota::subtree_of_limit_node(path)) {
      register_quota(*sub, find(path)->data.str());
      recount_enclosing(*sub);
    }
    return;
  }
  std::string sub;
  if (auto* q = const_cast<quota_entry*>(quota_covering(path, &sub))) {
    q->usage.count += 1;
    q->usage.bytes += bytes;
  }
}

void data_tree::quota_after_delete(const std::string& path, int64_t bytes) {
  if (under_quota_root(path)) {
    if (auto sub = quota::subtree_of_limit_node(path); sub && quotas_.erase(*sub) != 0)
      recount_enclosing(*sub);
    return;
  }
  std::string sub;
  if (auto* q = const_cast<quota_entry*>(quota_covering(path, &sub))) {
    q->usage.count -= 1;
    q->usage.bytes -= bytes;
  }
}

void data_tree::quota_after_set(const std::string& path, int64_t old_bytes, int64_t new_bytes) {
  if (under_quota_root(path)) {
    if (auto sub = quota::subtree_of_limit_node(path); sub && quotas_.count(*sub) != 0)
      quotas_[*sub].limits = quota::parse(find(path)->data);
    return;
  }
  std::string sub;
  if (auto* q = const_cast<quota_entry*>(quota_covering(path, &sub)))
    q->usage.bytes += new_bytes - old_bytes;
}

// A quota appeared or went inside another one's subtree: the enclosing one gains or loses the nodes
// it covers, so it is counted again (a restart's rebuild_quotas() counts the same).
void data_tree::recount_enclosing(const std::string& subtree) {
  std::string outer;
  if (auto* q = const_cast<quota_entry*>(quota_covering(parent_of(subtree), &outer)))
    q->usage = count_subtree(outer);
}

void data_tree::rebuild_quotas() {
  quotas_.clear();
  auto* top = find(quota::root);
  if (top == nullptr)
    return;
  // Every limit node below /zookeeper/quota names its subtree by its parent's path under the root.
  std::vector<std::pair<std::string, std::string>> found; // subtree, limit data
  std::function<void(const node&, const std::string&)> walk = [&](const node& n, const std::string& path) {
    n.children.for_each([&](const node& c) {
      auto child = path + "/" + c.name;
      if (auto sub = quota::subtree_of_limit_node(child))
        found.emplace_back(*sub, c.data.str());
      walk(c, child);
    });
  };
  walk(*top, std::string(quota::root));
  // Registered first, counted after: a nested quota's subtree is left out of its parent's count.
  for (auto& [sub, data] : found)
    if (!system_subtree(sub))
      quotas_[sub].limits = quota::parse(data);
  for (auto& [sub, q] : quotas_)
    q.usage = count_subtree(sub);
}

} // namespace corral
