#include "core/acl.hpp"

#include <algorithm>
#include <cstdio>

#include "core/hash.hpp"

namespace corral {

acl_list open_acl_unsafe() { return {{perm::all, "world", "anyone"}}; }
acl_list read_acl_unsafe() { return {{perm::read, "world", "anyone"}}; }
acl_list creator_all_acl() { return {{perm::all, "auth", ""}}; }

std::string perms_to_string(int32_t perms) {
  std::string out;
  if (perms & perm::create)
    out += 'c';
  if (perms & perm::remove)
    out += 'd';
  if (perms & perm::read)
    out += 'r';
  if (perms & perm::write)
    out += 'w';
  if (perms & perm::admin)
    out += 'a';
  return out;
}

result<int32_t> parse_perms(std::string_view text) {
  int32_t bits = 0;
  for (char c : text) {
    switch (c) {
      case 'c':
      case 'C': bits |= perm::create; break;
      case 'd':
      case 'D': bits |= perm::remove; break;
      case 'r':
      case 'R': bits |= perm::read; break;
      case 'w':
      case 'W': bits |= perm::write; break;
      case 'a':
      case 'A': bits |= perm::admin; break;
      default:
        return error_info{error_code::invalid_acl,
                          std::string("unknown perm type '") + c + "' in '" + std::string(text) + "'"};
    }
  }
  return bits;
}

result<acl_list> parse_acl(std::string_view text) {
  acl_list out;
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    auto first = item.find(':');
    auto last = item.rfind(':');
    if (first == item.npos || first == last)
      return error_info{error_code::invalid_acl, "'" + std::string(item) + "' does not have the form scheme:id:perm"};
    auto perms = parse_perms(item.substr(last + 1));
    if (!perms)
      return perms.error();
    out.push_back({*perms, std::string(item.substr(0, first)), std::string(item.substr(first + 1, last - first - 1))});
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return out;
}

std::string digest_of(std::string_view user_colon_password) {
  auto colon = user_colon_password.find(':');
  auto user = user_colon_password.substr(0, colon);
  auto hash = sha1(user_colon_password);
  return std::string(user) + ":" + base64_encode(hash.data(), hash.size());
}

namespace {

bool parse_ipv4(const std::string& text, uint32_t& out) {
  unsigned a, b, c, d;
  char tail;
  if (std::sscanf(text.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4)
    return false;
  if (a > 255 || b > 255 || c > 255 || d > 255)
    return false;
  out = a << 24 | b << 16 | c << 8 | d;
  return true;
}

bool valid_ip_spec(const std::string& spec) {
  auto slash = spec.find('/');
  uint32_t addr;
  if (!parse_ipv4(spec.substr(0, slash), addr))
    return false;
  if (slash == std::string::npos)
    return true;
  auto bits = spec.substr(slash + 1);
  if (bits.empty() || bits.size() > 2 || !std::all_of(bits.begin(), bits.end(), ::isdigit))
    return false;
  return std::stoi(bits) <= 32;
}

bool id_matches(const std::string& scheme, const std::string& auth, const std::string& acl_id) {
  if (scheme == "ip")
    return ip_matches(acl_id, auth);
  return auth == acl_id;
}

} // namespace

bool ip_matches(const std::string& spec, const std::string& address) {
  auto slash = spec.find('/');
  uint32_t want, have;
  if (!parse_ipv4(spec.substr(0, slash), want) || !parse_ipv4(address, have))
    return false;
  int bits = slash == std::string::npos ? 32 : std::stoi(spec.substr(slash + 1));
  uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (want & mask) == (have & mask);
}

bool acl_permits(const acl_list& acl, const auth_list& ids, int32_t wanted) {
  for (auto& id : ids)
    if (id.scheme == "super")
      return true;
  if (acl.empty())
    return true;
  for (auto& entry : acl) {
    if ((entry.perms & wanted) == 0)
      continue;
    if (entry.scheme == "world" && entry.id == "anyone")
      return true;
    for (auto& id : ids)
      if (id.scheme == entry.scheme && id_matches(entry.scheme, id.id, entry.id))
        return true;
  }
  return false;
}

result<acl_list> fix_acl(const acl_list& requested, const auth_list& ids) {
  if (requested.empty())
    return error_info{error_code::invalid_acl, "the ACL is empty"};
  acl_list out;
  auto add = [&](acl_entry e) {
    if (std::find(out.begin(), out.end(), e) == out.end())
      out.push_back(std::move(e));
  };
  for (auto& e : requested) {
    if (e.scheme == "world") {
      if (e.id != "anyone")
        return error_info{error_code::invalid_acl, "world scheme only has the id 'anyone'"};
      add(e);
    } else if (e.scheme == "auth") {
      bool any = false;
      for (auto& id : ids) {
        // Every identity a client proved (not its address): ZooKeeper's isAuthenticated providers.
        if (id.scheme == "digest" || id.scheme == "super" || id.scheme == "x509" || id.scheme == "sasl") {
          add({e.perms, id.scheme, id.id});
          any = true;
        }
      }
      if (!any)
        return error_info{error_code::invalid_acl, "auth scheme needs an authenticated identity: run addauth first"};
    } else if (e.scheme == "digest") {
      auto colon = e.id.find(':');
      if (colon == std::string::npos || e.id.find(':', colon + 1) != std::string::npos)
        return error_info{error_code::invalid_acl, "digest id must be user:base64hash, got '" + e.id + "'"};
      add(e);
    } else if (e.scheme == "ip") {
      if (!valid_ip_spec(e.id))
        return error_info{error_code::invalid_acl, "ip id must be an IPv4 address or CIDR, got '" + e.id + "'"};
      add(e);
    } else if (e.scheme == "x509" || e.scheme == "sasl") {
      // A certificate subject or a SASL user name: any non-empty id, matched exactly.
      if (e.id.empty())
        return error_info{error_code::invalid_acl, e.scheme + " needs an id"};
      add(e);
    } else {
      return error_info{error_code::invalid_acl, "unknown ACL scheme '" + e.scheme + "'"};
    }
  }
  return out;
}

const std::shared_ptr<const acl_list>& acl_cache::empty_list() {
  static const std::shared_ptr<const acl_list> empty = std::make_shared<const acl_list>();
  return empty;
}

uint32_t acl_cache::intern(const acl_list& acl) {
  auto it = by_value_.find(acl);
  if (it != by_value_.end()) {
    ++entries_[it->second].refs;
    return it->second;
  }
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
    entries_[id] = entry{std::make_shared<const acl_list>(acl), 1};
  } else {
    id = static_cast<uint32_t>(entries_.size());
    entries_.push_back(entry{std::make_shared<const acl_list>(acl), 1});
  }
  by_value_.emplace(acl, id);
  return id;
}

void acl_cache::release(uint32_t id) {
  auto& e = entries_.at(id);
  if (e.refs == 0)
    return;
  if (--e.refs == 0) {
    by_value_.erase(*e.acl);
    e.acl = empty_list();
    free_.push_back(id);
  }
}

} // namespace corral
