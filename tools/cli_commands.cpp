#include "tools/cli_commands.hpp"

#include <cstdint>
#include <ctime>
#include <functional>
#include <map>

#include "core/acl.hpp"
#include "core/format.hpp"
#include "core/path.hpp"
#include "core/response_body.hpp"

namespace corral::cli {

namespace {

// zkCli prints times as Java's Date does.
std::string date(int64_t ms) { return format_utc(ms, "%a %b %d %H:%M:%S UTC %Y"); }

result<int64_t> parse_number(const std::string& s, const char* what, int64_t lo, int64_t hi) {
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used == s.size() && v >= lo && v <= hi)
      return static_cast<int64_t>(v);
  } catch (...) {
  }
  return error_info{error_code::bad_arguments, std::string(what) + " must be a number from " + std::to_string(lo) +
                                                   " to " + std::to_string(hi) + ", got '" + s + "'"};
}

result<int32_t> parse_int(const std::string& s, const char* what) {
  auto v = parse_number(s, what, INT32_MIN, INT32_MAX);
  if (!v)
    return v.error();
  return static_cast<int32_t>(*v);
}

// -v VERSION, or -1 (any version) when absent.
result<int32_t> version_option(const arguments& a) {
  auto v = a.opts.find('v');
  return v == a.opts.end() ? result<int32_t>(-1) : parse_int(v->second, "version");
}

// Parses the words after the command's name; an empty string, or what is wrong.
std::string parse(const std::vector<std::string>& words, const command& c, arguments& out) {
  std::string flags = c.flags, valued = c.valued;
  for (size_t i = 1; i < words.size(); ++i) {
    auto& w = words[i];
    bool option = w.size() == 2 && w[0] == '-' && !std::isdigit(static_cast<unsigned char>(w[1]));
    if (!option) {
      out.args.push_back(w);
    } else if (flags.find(w[1]) != std::string::npos) {
      out.opts[w[1]] = "";
    } else if (valued.find(w[1]) == std::string::npos) {
      return "unknown option " + w;
    } else if (i + 1 >= words.size()) {
      return "option " + w + " needs a value";
    } else {
      out.opts[w[1]] = words[++i];
    }
  }
  if (out.args.size() < c.min_args || out.args.size() > c.max_args)
    return out.args.size() < c.min_args ? "too few arguments" : "too many arguments";
  return "";
}

// zkCli's ACL forms, plus auth:user:password:perms (a digest ACL for that user).
result<acl_list> parse_cli_acl(const std::string& text) {
  auto acl = parse_acl(text);
  if (!acl)
    return acl;
  for (auto& e : *acl)
    if (e.scheme == "auth" && !e.id.empty()) {
      e.scheme = "digest";
      e.id = digest_of(e.id);
    }
  return acl;
}

// The mode the flags name: -e ephemeral, -s sequential, -c container, -t TTL (milliseconds).
result<create_mode> create_mode_of(const arguments& a) {
  bool eph = a.has('e'), seq = a.has('s');
  if (a.has('c')) {
    if (eph || seq || a.has('t'))
      return error_info{error_code::bad_arguments, "-c cannot be combined with -e, -s or -t"};
    return create_mode::container;
  }
  if (a.has('t')) {
    if (eph)
      return error_info{error_code::bad_arguments, "-t cannot be combined with -e"};
    return seq ? create_mode::persistent_sequential_with_ttl : create_mode::persistent_with_ttl;
  }
  return eph ? (seq ? create_mode::ephemeral_sequential : create_mode::ephemeral)
             : (seq ? create_mode::persistent_sequential : create_mode::persistent);
}

} // namespace

std::vector<std::string> tokenize(const std::string& line, std::string& error) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote != 0) {
      if (c == quote)
        quote = 0;
      else
        cur += c;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word)
        out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote != 0)
    error = "unterminated quote";
  if (in_word)
    out.push_back(std::move(cur));
  return out;
}

std::string format_stat(const node_stat& s) {
  std::string o;
  o += "cZxid = " + to_hex(s.czxid) + "\n";
  o += "ctime = " + date(s.ctime) + "\n";
  o += "mZxid = " + to_hex(s.mzxid) + "\n";
  o += "mtime = " + date(s.mtime) + "\n";
  o += "pZxid = " + to_hex(s.pzxid) + "\n";
  o += "cversion = " + std::to_string(s.cversion) + "\n";
  o += "dataVersion = " + std::to_string(s.version) + "\n";
  o += "aclVersion = " + std::to_string(s.aversion) + "\n";
  o += "ephemeralOwner = " + to_hex(s.ephemeral_owner) + "\n";
  o += "dataLength = " + std::to_string(s.data_length) + "\n";
  o += "numChildren = " + std::to_string(s.num_children) + "\n";
  return o;
}

std::string format_list(const std::vector<std::string>& items) {
  std::string o = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      o += ", ";
    o += items[i];
  }
  return o + "]";
}

const std::vector<command>& commands() {
  // clang-format off
  static const std::vector<command> table{
    {"addWatch", {}, "addWatch [-m persistent|persistent_recursive] path", "", "m", 1, 1, &shell::add_watch},
    {"addauth", {}, "addauth scheme auth", "", "", 2, 2, &shell::add_auth},
    {"close", {}, "close", "", "", 0, 0, &shell::close},
    {"config", {}, "config [-c] [-w] [-s]", "cws", "", 0, 0, &shell::config},
    {"create", {}, "create [-e] [-s] [-c] [-t ttl] path [data] [acl]", "escr", "t", 1, 3, &shell::create},
    {"delete", {}, "delete [-v version] path", "", "v", 1, 1, &shell::remove},
    {"delquota", {}, "delquota [-n|-b|-N|-B] path", "nbNB", "", 1, 1, &shell::del_quota},
    {"deleteall", {"rmr"}, "deleteall path", "", "b", 1, 1, &shell::remove_all},
    {"get", {}, "get [-s] [-w] path", "sw", "", 1, 1, &shell::get},
    {"getAcl", {}, "getAcl [-s] path", "s", "", 1, 1, &shell::get_acl},
    {"getAllChildrenNumber", {}, "getAllChildrenNumber path", "", "", 1, 1, &shell::get_all_children_number},
    {"getEphemerals", {}, "getEphemerals [path]", "", "", 0, 1, &shell::get_ephemerals},
    {"help", {}, "help", "", "", 0, 1, &shell::help},
    {"listquota", {}, "listquota path", "", "", 1, 1, &shell::list_quota},
    {"ls", {}, "ls [-s] [-w] [-R] path", "swRr", "", 1, 1, &shell::ls},
    {"quit", {"exit"}, "quit", "", "", 0, 0, &shell::quit},
    {"reconfig", {}, "reconfig [-s] [-v version] [-add servers] [-remove ids] | [-members servers] | [-file path]",
     "s", "v", 2, 6, &shell::reconfig},
    {"removewatches", {}, "removewatches path [-c|-d|-a]", "cdal", "", 1, 1, &shell::remove_watches},
    {"set", {}, "set [-s] [-v version] path data", "s", "v", 2, 2, &shell::set},
    {"setAcl", {}, "setAcl [-s] [-v version] path acl", "sR", "v", 2, 2, &shell::set_acl},
    {"setquota", {}, "setquota -n|-b|-N|-B val path", "", "nbNB", 1, 1, &shell::set_quota},
    {"stat", {}, "stat [-w] path", "w", "", 1, 1, &shell::stat},
    {"sync", {}, "sync path", "", "", 1, 1, &shell::sync},
    {"whoami", {}, "whoami", "", "", 0, 0, &shell::who_am_i},
  };
  // clang-format on
  return table;
}

std::vector<std::string> command_names() {
  std::vector<std::string> names;
  for (auto& c : commands())
    names.push_back(c.name);
  return names;
}

bool shell::execute(const std::vector<std::string>& words) {
  if (words.empty())
    return true;
  for (auto& c : commands()) {
    bool match = words[0] == c.name;
    for (auto* alias : c.aliases)
      match = match || words[0] == alias;
    if (!match)
      continue;
    current_ = &c;
    arguments a;
    if (auto problem = parse(words, c, a); !problem.empty())
      return usage(problem);
    return (this->*c.run)(a);
  }
  err_ << "unknown command '" << words[0] << "'; type help for the list\n";
  return false;
}

bool shell::fail(const error_info& e) {
  err_ << "KeeperErrorCode = " << e.to_string() << "\n";
  return false;
}

bool shell::usage(const std::string& why) {
  if (!why.empty())
    err_ << current_->name << ": " << why << "\n";
  err_ << "usage: " << current_->usage << "\n";
  return false;
}

bool shell::call_for_status(request_body body) {
  auto r = session_.call(std::move(body));
  return r.err == error_code::ok ? true : fail(r);
}

std::string format_event(const watch_event& e) {
  return std::string("\nWATCHER::\n\nWatchedEvent state:") + keeper_state_name(e.state) +
         " type:" + event_type_name(e.type) + " path:" + (e.path.empty() ? "null" : e.path) + "\n";
}

bool shell::ls(const arguments& a) {
  auto& path = a.args[0];
  if (a.has('R') || a.has('r')) {
    // Breadth-first, as zkCli prints it.
    std::vector<std::string> queue{path};
    for (size_t i = 0; i < queue.size(); ++i) {
      auto r = take<children_result>(session_.call(get_children_request{queue[i], false}));
      if (!r) {
        if (r.code() == error_code::no_node && i > 0)
          continue; // deleted while we walked
        return fail(r.error());
      }
      out_ << queue[i] << "\n";
      for (auto& c : r->children)
        queue.push_back(join_path(queue[i], c));
    }
    return true;
  }
  auto r = take<children_result>(session_.call(get_children_request{path, a.has('w')}));
  if (!r)
    return fail(r.error());
  out_ << format_list(r->children) << "\n";
  if (a.has('s'))
    out_ << format_stat(r->stat);
  return true;
}

bool shell::create(const arguments& a) {
  auto mode = create_mode_of(a);
  if (!mode)
    return usage(mode.error().detail);
  int64_t ttl = -1;
  if (a.has('t')) {
    auto t = parse_number(a.opts.at('t'), "ttl (milliseconds)", 1, INT64_MAX);
    if (!t)
      return fail(t.error());
    ttl = *t;
  }
  acl_list acl = open_acl_unsafe();
  if (a.args.size() == 3) {
    auto parsed_acl = parse_cli_acl(a.args[2]);
    if (!parsed_acl)
      return fail(parsed_acl.error());
    acl = std::move(*parsed_acl);
  }
  // Without a data argument the node has no data at all (null, as zkCli.sh creates it), not "".
  bool null_data = a.args.size() < 2;
  auto r = take<create_result>(
      session_.call(create_request{a.args[0], null_data ? "" : a.args[1], std::move(acl), *mode, ttl, null_data}));
  if (!r)
    return fail(r.error());
  out_ << "Created " << r->path << "\n";
  return true;
}

bool shell::get(const arguments& a) {
  auto r = take<data_result>(session_.call(get_data_request{a.args[0], a.has('w')}));
  if (!r)
    return fail(r.error());
  out_ << (r->null_data ? "null" : r->data) << "\n"; // as zkCli.sh prints null data
  if (a.has('s'))
    out_ << format_stat(r->stat);
  return true;
}

bool shell::set(const arguments& a) {
  auto version = version_option(a);
  if (!version)
    return fail(version.error());
  auto r = take<node_stat>(session_.call(set_data_request{a.args[0], a.args[1], *version}));
  if (!r)
    return fail(r.error());
  if (a.has('s'))
    out_ << format_stat(*r);
  return true;
}

bool shell::remove(const arguments& a) {
  auto version = version_option(a);
  if (!version)
    return fail(version.error());
  return call_for_status(delete_request{a.args[0], *version});
}

bool shell::remove_all(const arguments& a) {
  // Collect the subtree breadth-first, then delete deepest first.
  std::vector<std::string> nodes{a.args[0]};
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto r = take<children_result>(session_.call(get_children_request{nodes[i], false}));
    if (!r) {
      if (r.code() == error_code::no_node && i > 0)
        continue;
      return fail(r.error());
    }
    for (auto& c : r->children)
      nodes.push_back(join_path(nodes[i], c));
  }
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    auto r = session_.call(delete_request{*it, -1});
    if (r.err != error_code::ok && r.err != error_code::no_node)
      return fail(r);
  }
  return true;
}

bool shell::stat(const arguments& a) {
  auto r = take<node_stat>(session_.call(exists_request{a.args[0], a.has('w')}));
  if (!r)
    return fail(r.error());
  out_ << format_stat(*r);
  return true;
}

bool shell::get_acl(const arguments& a) {
  auto r = take<acl_result>(session_.call(get_acl_request{a.args[0]}));
  if (!r)
    return fail(r.error());
  for (auto& e : r->acl)
    out_ << "'" << e.scheme << ",'" << e.id << "\n: " << perms_to_string(e.perms) << "\n";
  if (a.has('s'))
    out_ << format_stat(r->stat);
  return true;
}

bool shell::set_acl(const arguments& a) {
  auto version = version_option(a);
  if (!version)
    return fail(version.error());
  auto acl = parse_cli_acl(a.args[1]);
  if (!acl)
    return fail(acl.error());
  auto r = take<node_stat>(session_.call(set_acl_request{a.args[0], std::move(*acl), *version}));
  if (!r)
    return fail(r.error());
  if (a.has('s'))
    out_ << format_stat(*r);
  return true;
}

bool shell::add_watch(const arguments& a) {
  auto mode = add_watch_mode::persistent_recursive;
  if (a.has('m')) {
    auto& m = a.opts.at('m');
    if (m == "persistent" || m == "PERSISTENT")
      mode = add_watch_mode::persistent;
    else if (m != "persistent_recursive" && m != "PERSISTENT_RECURSIVE")
      return usage("unknown watch mode '" + m + "'");
  }
  return call_for_status(add_watch_request{a.args[0], mode});
}

bool shell::remove_watches(const arguments& a) {
  auto type = watcher_type::any;
  if (a.has('c'))
    type = watcher_type::children;
  else if (a.has('d'))
    type = watcher_type::data;
  return call_for_status(remove_watches_request{a.args[0], type});
}

bool shell::add_auth(const arguments& a) { return call_for_status(auth_request{a.args[0], a.args[1]}); }

bool shell::close(const arguments&) {
  session_.close();
  return true;
}

bool shell::quit(const arguments&) {
  quit_ = true;
  return true;
}

bool shell::sync(const arguments& a) {
  if (!call_for_status(sync_request{a.args[0]}))
    return false;
  out_ << "Sync is OK\n";
  return true;
}

bool shell::get_ephemerals(const arguments& a) {
  auto r = take<std::vector<std::string>>(session_.call(get_ephemerals_request{a.args.empty() ? "/" : a.args[0]}));
  if (!r)
    return fail(r.error());
  out_ << format_list(*r) << "\n";
  return true;
}

bool shell::get_all_children_number(const arguments& a) {
  auto r = take<int32_t>(session_.call(get_all_children_number_request{a.args[0]}));
  if (!r)
    return fail(r.error());
  out_ << *r << "\n";
  return true;
}

bool shell::who_am_i(const arguments&) {
  auto r = take<auth_list>(session_.call(who_am_i_request{}));
  if (!r)
    return fail(r.error());
  out_ << "Auth scheme: User\n";
  for (auto& id : *r)
    out_ << id.scheme << ": " << id.id << "\n";
  return true;
}

bool shell::help(const arguments&) {
  out_ << "Corral CLI commands (as zkCli.sh):\n";
  for (auto& c : commands())
    out_ << "  " << c.usage << "\n";
  out_ << "ACLs: world:anyone:cdrwa, digest:user:hash:perms, auth::perms, auth:user:password:perms, "
          "ip:addr[/bits]:perms\n";
  return true;
}

std::vector<std::string> shell::complete_path(const std::string& prefix) {
  std::vector<std::string> out;
  if (prefix.empty() || prefix[0] != '/')
    return out;
  auto slash = prefix.rfind('/');
  auto dir = slash == 0 ? std::string("/") : prefix.substr(0, slash);
  auto stem = prefix.substr(slash + 1);
  auto r = take<children_result>(session_.call(get_children_request{dir, false}));
  if (!r)
    return out;
  for (auto& c : r->children)
    if (c.compare(0, stem.size(), stem) == 0)
      out.push_back(join_path(dir, c));
  return out;
}

} // namespace corral::cli
