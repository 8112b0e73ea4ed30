// zkCli.sh's config and reconfig commands. reconfig takes zkCli's server lines
// (server.5=host:quorum_port:native_port:observer;zk_port) and Corral's member form, the one
// corral.ensemble uses (5=host:native_port:quorum_port:observer;zk_port); see core/membership.hpp.
#include <fstream>
#include <sstream>

#include "core/membership.hpp"
#include "core/response_body.hpp"
#include "tools/cli_commands.hpp"

namespace corral::cli {

namespace {

// "a,b" of either form -> ZooKeeper's server lines, comma-separated.
result<std::string> server_lines(const std::string& list) {
  std::string out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty())
      continue;
    std::string line = item;
    if (item.rfind("server.", 0) != 0) {
      auto m = parse_member(item);
      if (!m)
        return m.error();
      line = server_line(*m);
    }
    out += (out.empty() ? "" : ",") + line;
  }
  return out;
}

// ZooKeeper's `config -c`: the version, then the servers' client addresses.
std::string client_string(const std::string& config) {
  auto m = parse_config_text(config);
  if (!m)
    return config;
  std::ostringstream v;
  v << std::hex << m->version;
  std::string hosts;
  for (auto& x : m->members)
    if (x.zk_port > 0)
      hosts += (hosts.empty() ? "" : ",") + x.host + ":" + std::to_string(x.zk_port);
  return v.str() + " " + hosts;
}

} // namespace

bool shell::config(const arguments& a) {
  auto r = take<data_result>(session_.call(get_data_request{std::string(config_path), a.has('w')}));
  if (!r)
    return fail(r.error());
  out_ << (a.has('c') ? client_string(r->data) : r->data) << "\n";
  if (a.has('s'))
    out_ << format_stat(r->stat);
  return true;
}

// reconfig [-s] [-v version] [-add servers] [-remove ids] | [-members servers] | [-file path]
bool shell::reconfig(const arguments& a) {
  reconfig_request req;
  if (a.has('v')) {
    std::istringstream v(a.opts.at('v'));
    v >> std::hex >> req.from_config;
    if (!v || !v.eof())
      return usage("-v takes the configuration's version, in hexadecimal as config prints it");
  }
  if (a.args.size() % 2 != 0)
    return usage("each of -add, -remove, -members and -file takes a value");
  for (size_t i = 0; i < a.args.size(); i += 2) {
    auto& what = a.args[i];
    auto& value = a.args[i + 1];
    if (what == "-remove") {
      req.leaving = value;
      continue;
    }
    if (what == "-file") {
      std::ifstream f(value);
      if (!f)
        return usage("cannot read " + value);
      std::stringstream text;
      text << f.rdbuf();
      req.members = text.str();
      continue;
    }
    if (what != "-add" && what != "-members")
      return usage("unknown option " + what);
    auto lines = server_lines(value);
    if (!lines)
      return fail(lines.error());
    (what == "-add" ? req.joining : req.members) = *lines;
  }
  if (!req.joining && !req.leaving && !req.members)
    return usage("say what changes: -add, -remove, -members or -file");
  auto r = take<data_result>(session_.call(std::move(req)));
  if (!r)
    return fail(r.error());
  out_ << "Committed new configuration:\n" << r->data << "\n";
  if (a.has('s'))
    out_ << format_stat(r->stat);
  return true;
}

} // namespace corral::cli
