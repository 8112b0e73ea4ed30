#include "core/membership.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace corral {

const member* membership::find(int64_t id) const {
  for (auto& m : members)
    if (m.id == id)
      return &m;
  return nullptr;
}

bool membership::is_voter(int64_t id) const {
  auto* m = find(id);
  return m != nullptr && !m->observer;
}

void membership::sort_by_id() {
  std::sort(members.begin(), members.end(), [](const member& a, const member& b) { return a.id < b.id; });
}

std::vector<int64_t> membership::voters() const {
  std::vector<int64_t> out;
  for (auto& m : members)
    if (!m.observer)
      out.push_back(m.id);
  return out;
}

std::vector<int64_t> membership::observers() const {
  std::vector<int64_t> out;
  for (auto& m : members)
    if (m.observer)
      out.push_back(m.id);
  return out;
}

namespace {

error_info bad(std::string why) { return {error_code::bad_arguments, std::move(why)}; }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A decimal number in [lo, hi], or nothing.
std::optional<int64_t> number(const std::string& s, int64_t lo, int64_t hi) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  auto v = std::stoll(s);
  if (v < lo || v > hi)
    return std::nullopt;
  return v;
}

std::optional<uint16_t> port(const std::string& s) {
  auto v = number(s, 1, 65535);
  if (!v)
    return std::nullopt;
  return static_cast<uint16_t>(*v);
}

// "host:port:port..." with an IPv6 host in brackets: the host, then the colon-separated rest.
std::pair<std::string, std::vector<std::string>> host_and_fields(const std::string& s) {
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return {"", {}};
    return {s.substr(0, close + 1), split(s.substr(close + 2), ':')};
  }
  auto fields = split(s, ':');
  auto host = fields.front();
  fields.erase(fields.begin());
  return {host, fields};
}

error_info role(const std::string& r, member& m) {
  if (r == "participant")
    m.observer = false;
  else if (r == "observer")
    m.observer = true;
  else
    return bad("the role '" + r + "' is not participant or observer");
  return {};
}

} // namespace

namespace {

// What both forms have after "ID=": HOST:PORT:PORT[:ROLE][;[HOST:]ZK_PORT], the two ports in
// `order`. `shape` describes the form for errors, `who` names the input.
enum class port_order { native_first, quorum_first };
result<member> parse_address(int64_t id, std::string v, port_order order, const std::string& shape,
                             const std::string& who) {
  member m;
  m.id = id;
  if (auto semi = v.find(';'); semi != std::string::npos) {
    auto client = trim(v.substr(semi + 1));
    auto colon = client.rfind(':');
    auto zk = port(colon == std::string::npos ? client : client.substr(colon + 1));
    if (!zk)
      return bad(shape);
    m.zk_port = *zk;
    v = trim(v.substr(0, semi));
  }
  auto [host, fields] = host_and_fields(v);
  if (host.empty() || (fields.size() != 2 && fields.size() != 3))
    return bad(shape);
  m.host = host;
  auto first = port(fields[0]), second = port(fields[1]);
  if (!first || !second)
    return bad(shape);
  m.client_port = order == port_order::native_first ? *first : *second;
  m.quorum_port = order == port_order::native_first ? *second : *first;
  if (fields.size() == 3)
    if (auto e = role(fields[2], m); e.code != error_code::ok)
      return bad("'" + who + "': " + e.detail);
  return m;
}

} // namespace

result<member> parse_member(const std::string& text) {
  auto shape = "'" + text + "' is not ID=HOST:CLIENT_PORT:QUORUM_PORT[:participant|:observer][;ZK_PORT]";
  auto eq = text.find('=');
  if (eq == std::string::npos)
    return bad(shape);
  auto id = number(trim(text.substr(0, eq)), 1, max_server_id);
  if (!id)
    return bad("'" + text + "': server ids go from 1 to " + std::to_string(max_server_id));
  return parse_address(*id, trim(text.substr(eq + 1)), port_order::native_first, shape, text);
}

std::string member_text(const member& m) {
  auto s = std::to_string(m.id) + "=" + m.host + ":" + std::to_string(m.client_port) + ":" +
           std::to_string(m.quorum_port) + (m.observer ? ":observer" : ":participant");
  if (m.zk_port > 0)
    s += ";" + std::to_string(m.zk_port);
  return s;
}

result<member> parse_server_line(const std::string& key, const std::string& value) {
  auto k = trim(key);
  auto shape = "'" + k + "=" + trim(value) +
               "' is not server.ID=HOST:QUORUM_PORT:NATIVE_PORT[:participant|:observer][;[HOST:]ZK_PORT]";
  if (k.rfind("server.", 0) != 0)
    return bad(shape);
  auto id = number(k.substr(7), 1, max_server_id);
  if (!id)
    return bad("'" + k + "': server ids go from 1 to " + std::to_string(max_server_id));
  return parse_address(*id, trim(value), port_order::quorum_first, shape, k);
}

std::string server_line(const member& m) {
  auto s = "server." + std::to_string(m.id) + "=" + m.host + ":" + std::to_string(m.quorum_port) + ":" +
           std::to_string(m.client_port) + (m.observer ? ":observer" : ":participant");
  if (m.zk_port > 0)
    s += ";" + m.host + ":" + std::to_string(m.zk_port);
  return s;
}

std::string config_text(const membership& m) {
  std::string out;
  for (auto& x : m.members)
    out += server_line(x) + "\n";
  std::ostringstream v;
  v << std::hex << m.version;
  return out + "version=" + v.str();
}

namespace {

// Server lines separated by commas or newlines (ZooKeeper accepts both), as a membership.
result<membership> parse_lines(const std::string& text, bool allow_version) {
  membership out;
  std::string normalised = text;
  std::replace(normalised.begin(), normalised.end(), ',', '\n');
  std::set<int64_t> seen;
  for (auto& raw : split(normalised, '\n')) {
    auto line = trim(raw);
    if (line.empty())
      continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return bad("'" + line + "' is not KEY=VALUE");
    auto key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "version" && allow_version) {
      std::istringstream in(value);
      in >> std::hex >> out.version;
      if (!in || !in.eof())
        return bad("'" + line + "': the version is a hexadecimal zxid");
      continue;
    }
    auto m = parse_server_line(key, value);
    if (!m)
      return m.error();
    if (!seen.insert(m->id).second)
      return bad("server " + std::to_string(m->id) + " is named twice");
    out.members.push_back(*m);
  }
  out.sort_by_id();
  return out;
}

} // namespace

result<membership> parse_config_text(const std::string& text) { return parse_lines(text, true); }

error_info check_membership(const membership& m) {
  std::set<int64_t> ids;
  std::map<std::string, int64_t> addresses;
  for (auto& x : m.members) {
    if (x.id < 1 || x.id > max_server_id)
      return bad("server ids go from 1 to " + std::to_string(max_server_id) + " (got " + std::to_string(x.id) + ")");
    if (!ids.insert(x.id).second)
      return bad("server " + std::to_string(x.id) + " is named twice");
    std::vector<int32_t> ports{x.quorum_port, x.client_port};
    if (x.zk_port > 0)
      ports.push_back(x.zk_port);
    for (auto p : ports) {
      auto where = x.host + ":" + std::to_string(p);
      auto [it, fresh] = addresses.emplace(where, x.id);
      if (!fresh && it->second != x.id)
        return bad("servers " + std::to_string(it->second) + " and " + std::to_string(x.id) + " both use " + where);
      if (!fresh)
        return bad("server " + std::to_string(x.id) + " uses " + where + " twice");
    }
  }
  if (m.voters().size() < 2)
    return bad("Reconfig failed - new configuration must include at least 2 followers (voters)");
  return {};
}

result<membership> changed_membership(const membership& current, const reconfig_change& change) {
  membership next;
  if (change.members) {
    if (change.joining || change.leaving)
      return bad("a reconfig gives either the whole membership or servers joining and leaving, not both");
    auto whole = parse_lines(*change.members, false);
    if (!whole)
      return whole.error();
    next = std::move(*whole);
  } else {
    next.members = current.members;
    if (change.leaving)
      for (auto& raw : split(*change.leaving, ',')) {
        auto text = trim(raw);
        if (text.empty())
          continue;
        auto id = number(text, 1, max_server_id);
        if (!id)
          return bad("'" + text + "' is not a server id");
        next.members.erase(
            std::remove_if(next.members.begin(), next.members.end(), [&](const member& x) { return x.id == *id; }),
            next.members.end());
      }
    if (change.joining) {
      auto joining = parse_lines(*change.joining, false);
      if (!joining)
        return joining.error();
      for (auto& j : joining->members) {
        next.members.erase(
            std::remove_if(next.members.begin(), next.members.end(), [&](const member& x) { return x.id == j.id; }),
            next.members.end());
        next.members.push_back(j);
      }
    }
    next.sort_by_id();
  }
  if (auto e = check_membership(next); e.code != error_code::ok)
    return e;
  return next;
}

} // namespace corral
