#include "tools/cli_commands.hpp"

#include <ctime>
#include <functional>
#include <map>

#include "core/format.hpp"
#include "core/path.hpp"

namespace corral::cli {

namespace {

// zkCli prints times as Java's Date does.
std::string date(int64_t ms) { return format_utc(ms, "%a %b %d %H:%M:%S UTC %Y"); }

// Options of the form -x (flags) or -x value; everything else is positional.
struct parsed {
  std::map<char, std::string> opts;
  std::vector<std::string> args;
  std::string error;
};

parsed parse(const std::vector<std::string>& a, const std::string& flags, const std::string& with_value) {
  parsed p;
  for (size_t i = 1; i < a.size(); ++i) {
    auto& w = a[i];
    if (w.size() == 2 && w[0] == '-' && !std::isdigit(static_cast<unsigned char>(w[1]))) {
      char c = w[1];
      if (flags.find(c) != std::string::npos) {
        p.opts[c] = "";
      } else if (with_value.find(c) != std::string::npos) {
        if (i + 1 >= a.size()) {
          p.error = std::string("option -") + c + " needs a value";
          return p;
        }
        p.opts[c] = a[++i];
      } else {
        p.error = "unknown option " + w;
        return p;
      }
    } else {
      p.args.push_back(w);
    }
  }
  return p;
}

result<int32_t> parse_int(const std::string& s, const char* what) {
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used != s.size() || v < INT32_MIN || v > INT32_MAX)
      throw std::invalid_argument(s);
    return static_cast<int32_t>(v);
  } catch (...) {
    return error_info{error_code::bad_arguments, std::string(what) + " must be a number, got '" + s + "'"};
  }
}

// -v VERSION, or -1 (any version) when absent.
error_info version_option(parsed& p, int32_t& version) {
  if (!p.opts.count('v'))
    return {};
  auto v = parse_int(p.opts['v'], "version");
  if (!v)
    return v.error();
  version = *v;
  return {};
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

const std::vector<std::string>& command_names() {
  static const std::vector<std::string> names{
      "addWatch", "addauth", "close", "create", "delete", "deleteall", "get", "getAcl", "getAllChildrenNumber",
      "getEphemerals", "help", "ls", "quit", "removewatches", "set", "setAcl", "stat", "sync", "whoami"};
  return names;
}

bool shell::fail(const error_info& e) {
  err_ << "KeeperErrorCode = " << e.to_string() << "\n";
  return false;
}

bool shell::usage(const std::string& text) {
  err_ << "usage: " << text << "\n";
  return false;
}

void shell::print_event(const watch_event& e) {
  out_ << "\nWATCHER::\n\nWatchedEvent state:" << keeper_state_name(e.state)
       << " type:" << event_type_name(e.type) << " path:" << (e.path.empty() ? "null" : e.path) << "\n";
  out_.flush();
}

bool shell::ls(const std::vector<std::string>& a) {
  auto p = parse(a, "swRr", "");
  if (!p.error.empty() || p.args.size() != 1)
    return usage("ls [-s] [-w] [-R] path");
  auto& path = p.args[0];
  if (p.opts.count('R') || p.opts.count('r')) {
    // Breadth-first, as zkCli prints it.
    std::vector<std::string> queue{path};
    for (size_t i = 0; i < queue.size(); ++i) {
      auto r = client_.children(queue[i]);
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
  auto r = client_.children(path, p.opts.count('w') > 0);
  if (!r)
    return fail(r.error());
  out_ << format_list(r->children) << "\n";
  if (p.opts.count('s'))
    out_ << format_stat(r->stat);
  return true;
}

bool shell::create(const std::vector<std::string>& a) {
  auto p = parse(a, "escr", "t");
  if (!p.error.empty() || p.args.empty() || p.args.size() > 3)
    return usage("create [-e] [-s] [-c] [-t ttl] path [data] [acl]");
  bool eph = p.opts.count('e'), seq = p.opts.count('s'), container = p.opts.count('c');
  int64_t ttl = -1;
  create_mode mode = eph ? (seq ? create_mode::ephemeral_sequential : create_mode::ephemeral)
                         : (seq ? create_mode::persistent_sequential : create_mode::persistent);
  if (container) {
    if (eph || seq || p.opts.count('t'))
      return usage("-c cannot be combined with -e, -s or -t");
    mode = create_mode::container;
  }
  if (p.opts.count('t')) {
    if (eph)
      return usage("-t cannot be combined with -e");
    try {
      ttl = std::stoll(p.opts['t']);
    } catch (...) {
      return fail({error_code::bad_arguments, "ttl must be a number of milliseconds"});
    }
    mode = seq ? create_mode::persistent_sequential_with_ttl : create_mode::persistent_with_ttl;
  }
  acl_list acl = open_acl_unsafe();
  if (p.args.size() == 3) {
    auto parsed_acl = parse_cli_acl(p.args[2]);
    if (!parsed_acl)
      return fail(parsed_acl.error());
    acl = std::move(*parsed_acl);
  }
  auto r = client_.create(p.args[0], p.args.size() > 1 ? p.args[1] : "", mode, acl, ttl);
  if (!r)
    return fail(r.error());
  out_ << "Created " << r->path << "\n";
  return true;
}

bool shell::get(const std::vector<std::string>& a) {
  auto p = parse(a, "sw", "");
  if (!p.error.empty() || p.args.size() != 1)
    return usage("get [-s] [-w] path");
  auto r = client_.get(p.args[0], p.opts.count('w') > 0);
  if (!r)
    return fail(r.error());
  out_ << r->data << "\n";
  if (p.opts.count('s'))
    out_ << format_stat(r->stat);
  return true;
}

bool shell::set(const std::vector<std::string>& a) {
  auto p = parse(a, "s", "v");
  if (!p.error.empty() || p.args.size() != 2)
    return usage("set [-s] [-v version] path data");
  int32_t version = -1;
  if (auto e = version_option(p, version); e.code != error_code::ok)
    return fail(e);
  auto r = client_.set(p.args[0], p.args[1], version);
  if (!r)
    return fail(r.error());
  if (p.opts.count('s'))
    out_ << format_stat(*r);
  return true;
}

bool shell::remove(const std::vector<std::string>& a) {
  auto p = parse(a, "", "v");
  if (!p.error.empty() || p.args.size() != 1)
    return usage("delete [-v version] path");
  int32_t version = -1;
  if (auto e = version_option(p, version); e.code != error_code::ok)
    return fail(e);
  auto r = client_.remove(p.args[0], version);
  return r ? true : fail(r.error());
}

bool shell::remove_all(const std::vector<std::string>& a) {
  auto p = parse(a, "", "b");
  if (!p.error.empty() || p.args.size() != 1)
    return usage("deleteall path");
  // Collect the subtree breadth-first, then delete deepest first.
  std::vector<std::string> nodes{p.args[0]};
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto r = client_.children(nodes[i]);
    if (!r) {
      if (r.code() == error_code::no_node && i > 0)
        continue;
      return fail(r.error());
    }
    for (auto& c : r->children)
      nodes.push_back(join_path(nodes[i], c));
  }
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    auto r = client_.remove(*it);
    if (!r && r.code() != error_code::no_node)
      return fail(r.error());
  }
  return true;
}

bool shell::stat(const std::vector<std::string>& a) {
  auto p = parse(a, "w", "");
  if (!p.error.empty() || p.args.size() != 1)
    return usage("stat [-w] path");
  auto r = client_.exists(p.args[0], p.opts.count('w') > 0);
  if (!r)
    return fail(r.error());
  out_ << format_stat(*r);
  return true;
}

bool shell::get_acl(const std::vector<std::string>& a) {
  auto p = parse(a, "s", "");
  if (!p.error.empty() || p.args.size() != 1)
    return usage("getAcl [-s] path");
  auto r = client_.get_acl(p.args[0]);
  if (!r)
    return fail(r.error());
  for (auto& e : r->acl)
    out_ << "'" << e.scheme << ",'" << e.id << "\n: " << perms_to_string(e.perms) << "\n";
  if (p.opts.count('s'))
    out_ << format_stat(r->stat);
  return true;
}

bool shell::set_acl(const std::vector<std::string>& a) {
  auto p = parse(a, "sR", "v");
  if (!p.error.empty() || p.args.size() != 2)
    return usage("setAcl [-s] [-v version] path acl");
  int32_t version = -1;
  if (auto e = version_option(p, version); e.code != error_code::ok)
    return fail(e);
  auto acl = parse_cli_acl(p.args[1]);
  if (!acl)
    return fail(acl.error());
  auto r = client_.set_acl(p.args[0], *acl, version);
  if (!r)
    return fail(r.error());
  if (p.opts.count('s'))
    out_ << format_stat(*r);
  return true;
}

bool shell::add_watch(const std::vector<std::string>& a) {
  auto p = parse(a, "", "m");
  if (!p.error.empty() || p.args.size() != 1)
    return usage("addWatch [-m mode] path   (mode: persistent or persistent_recursive, the default)");
  auto mode = add_watch_mode::persistent_recursive;
  if (p.opts.count('m')) {
    auto& m = p.opts['m'];
    if (m == "persistent" || m == "PERSISTENT")
      mode = add_watch_mode::persistent;
    else if (m != "persistent_recursive" && m != "PERSISTENT_RECURSIVE")
      return usage("addWatch [-m persistent|persistent_recursive] path");
  }
  auto r = client_.add_watch(p.args[0], mode);
  return r ? true : fail(r.error());
}

bool shell::remove_watches(const std::vector<std::string>& a) {
  auto p = parse(a, "cdal", "");
  if (!p.error.empty() || p.args.size() != 1)
    return usage("removewatches path [-c|-d|-a]");
  auto type = watcher_type::any;
  if (p.opts.count('c'))
    type = watcher_type::children;
  else if (p.opts.count('d'))
    type = watcher_type::data;
  auto r = client_.call(remove_watches_request{p.args[0], type});
  if (r.err != error_code::ok)
    return fail({r.err, r.detail});
  return true;
}

bool shell::help() {
  out_ << "Corral CLI commands (as zkCli.sh):\n"
          "  addWatch [-m mode] path\n"
          "  addauth scheme auth\n"
          "  close\n"
          "  create [-e] [-s] [-c] [-t ttl] path [data] [acl]\n"
          "  delete [-v version] path\n"
          "  deleteall path\n"
          "  get [-s] [-w] path\n"
          "  getAcl [-s] path\n"
          "  getAllChildrenNumber path\n"
          "  getEphemerals [path]\n"
          "  help\n"
          "  ls [-s] [-w] [-R] path\n"
          "  quit\n"
          "  removewatches path [-c|-d|-a]\n"
          "  set [-s] [-v version] path data\n"
          "  setAcl [-s] [-v version] path acl\n"
          "  stat [-w] path\n"
          "  sync path\n"
          "  whoami\n"
          "ACLs: world:anyone:cdrwa, digest:user:hash:perms, auth::perms, auth:user:password:perms, ip:addr[/bits]:perms\n";
  return true;
}

bool shell::execute(const std::vector<std::string>& a) {
  if (a.empty())
    return true;
  auto& cmd = a[0];
  if (cmd == "ls") return ls(a);
  if (cmd == "create") return create(a);
  if (cmd == "get") return get(a);
  if (cmd == "set") return set(a);
  if (cmd == "delete") return remove(a);
  if (cmd == "deleteall" || cmd == "rmr") return remove_all(a);
  if (cmd == "stat") return stat(a);
  if (cmd == "getAcl") return get_acl(a);
  if (cmd == "setAcl") return set_acl(a);
  if (cmd == "addWatch") return add_watch(a);
  if (cmd == "removewatches") return remove_watches(a);
  if (cmd == "help") return help();
  if (cmd == "quit" || cmd == "exit") {
    quit_ = true;
    return true;
  }
  if (cmd == "close") {
    client_.close();
    return true;
  }
  if (cmd == "addauth") {
    if (a.size() != 3)
      return usage("addauth scheme auth");
    auto r = client_.add_auth(a[1], a[2]);
    return r ? true : fail(r.error());
  }
  if (cmd == "sync") {
    if (a.size() != 2)
      return usage("sync path");
    auto r = client_.sync(a[1]);
    if (!r)
      return fail(r.error());
    out_ << "Sync is OK\n";
    return true;
  }
  if (cmd == "getEphemerals") {
    auto r = client_.call(get_ephemerals_request{a.size() > 1 ? a[1] : "/"});
    if (r.err != error_code::ok)
      return fail({r.err, r.detail});
    out_ << format_list(std::get<std::vector<std::string>>(r.body)) << "\n";
    return true;
  }
  if (cmd == "getAllChildrenNumber") {
    if (a.size() != 2)
      return usage("getAllChildrenNumber path");
    auto r = client_.call(get_all_children_number_request{a[1]});
    if (r.err != error_code::ok)
      return fail({r.err, r.detail});
    out_ << std::get<int32_t>(r.body) << "\n";
    return true;
  }
  if (cmd == "whoami") {
    auto r = client_.call(who_am_i_request{});
    if (r.err != error_code::ok)
      return fail({r.err, r.detail});
    out_ << "Auth scheme: User\n";
    for (auto& id : std::get<auth_list>(r.body))
      out_ << id.scheme << ": " << id.id << "\n";
    return true;
  }
  err_ << "unknown command '" << cmd << "'; type help for the list\n";
  return false;
}

std::vector<std::string> shell::complete_path(const std::string& prefix) {
  std::vector<std::string> out;
  if (prefix.empty() || prefix[0] != '/')
    return out;
  auto slash = prefix.rfind('/');
  auto dir = slash == 0 ? std::string("/") : prefix.substr(0, slash);
  auto stem = prefix.substr(slash + 1);
  auto r = client_.children(dir);
  if (!r)
    return out;
  for (auto& c : r->children)
    if (c.compare(0, stem.size(), stem) == 0)
      out.push_back(join_path(dir, c));
  return out;
}

} // namespace corral::cli
