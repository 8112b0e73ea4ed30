// ACLs as ZooKeeper has them: permission bits, the world/auth/digest/ip/super schemes, parsing of the
// "scheme:id:perms" text form, the per-operation check, the fix-up applied on create and setACL, and a
// reference-counted cache so that a million znodes with the same ACL share one copy.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace corral {

namespace perm {
constexpr int32_t read = 1;
constexpr int32_t write = 2;
constexpr int32_t create = 4;
constexpr int32_t remove = 8; // ZooKeeper's DELETE
constexpr int32_t admin = 16;
constexpr int32_t all = 31;
} // namespace perm

struct acl_entry {
  int32_t perms = 0;
  std::string scheme;
  std::string id;
  friend bool operator==(const acl_entry& a, const acl_entry& b) {
    return a.perms == b.perms && a.scheme == b.scheme && a.id == b.id;
  }
  friend bool operator<(const acl_entry& a, const acl_entry& b) {
    if (a.perms != b.perms)
      return a.perms < b.perms;
    if (a.scheme != b.scheme)
      return a.scheme < b.scheme;
    return a.id < b.id;
  }
};

using acl_list = std::vector<acl_entry>;

// An identity a session has proven: ("digest", "user:hash"), ("ip", "127.0.0.1"), ("super", "").
struct auth_id {
  std::string scheme;
  std::string id;
  friend bool operator==(const auth_id& a, const auth_id& b) { return a.scheme == b.scheme && a.id == b.id; }
};

using auth_list = std::vector<auth_id>;

acl_list open_acl_unsafe(); // world:anyone:cdrwa
acl_list read_acl_unsafe(); // world:anyone:r
acl_list creator_all_acl(); // auth::cdrwa

// "cdrwa" <-> bits. Parsing rejects unknown letters.
std::string perms_to_string(int32_t perms);
result<int32_t> parse_perms(std::string_view text);

// "world:anyone:cdrwa,digest:u:h:r" -> entries (ZooKeeper's AclParser rules: scheme before the first
// colon, perms after the last one).
result<acl_list> parse_acl(std::string_view text);

// "user:base64(sha1(user:password))" from "user:password".
std::string digest_of(std::string_view user_colon_password);

// Does the session with `ids` hold `wanted` on a node with `acl`? ZooKeeper's checkACL.
bool acl_permits(const acl_list& acl, const auth_list& ids, int32_t wanted);

// The ACL actually stored for a create or setACL: "auth" entries expand to the session's
// authenticated identities, unknown schemes or malformed ids are InvalidACL, duplicates dropped.
result<acl_list> fix_acl(const acl_list& requested, const auth_list& ids);

// True if `address` lies in `spec` ("10.0.0.0/8" or a plain IPv4 address).
bool ip_matches(const std::string& spec, const std::string& address);

// Interning of ACL lists: nodes hold a 32-bit id instead of a copy of the list.
class acl_cache {
public:
  uint32_t intern(const acl_list& acl); // adds one reference
  void release(uint32_t id);            // drops one reference
  const acl_list& get(uint32_t id) const { return *entries_.at(id).acl; }
  // The list itself, shared: the write processor's pending records hold it without copying it
  // (it outlives its release here while they do).
  const std::shared_ptr<const acl_list>& shared(uint32_t id) const { return entries_.at(id).acl; }
  size_t size() const { return by_value_.size(); }

private:
  struct entry {
    std::shared_ptr<const acl_list> acl = empty_list(); // never null
    uint64_t refs = 0;
  };
  static const std::shared_ptr<const acl_list>& empty_list();
  std::vector<entry> entries_;
  std::vector<uint32_t> free_;
  std::map<acl_list, uint32_t> by_value_;
};

} // namespace corral
