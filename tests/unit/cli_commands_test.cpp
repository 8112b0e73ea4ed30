// corral-cli's command table and shell, over a fake session: what each command line sends, what it
// prints, and that a bad line prints its usage and sends nothing. (tests/integration/cli_test.cpp
// runs the program against a real server.)
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "core/path.hpp"
#include "tools/cli_commands.hpp"

using namespace corral;
using namespace corral::cli;

namespace {

// A session over a flat map of paths to data: enough of ZooKeeper's answers for the shell's walks.
class fake_session {
public:
  fake_session() { nodes_["/"] = ""; }

  session_calls calls() {
    return {[this](request_body b) { return answer(std::move(b)); }, [this] { ++closes; }};
  }

  std::vector<request_body> sent;
  int closes = 0;
  std::map<std::string, std::string> nodes_;
  std::set<std::string> null_data_; // nodes whose data is null
  std::vector<reconfig_request> reconfigs;

private:
  response error(error_code e, const std::string& path) { return response{0, 0, e, path, {}}; }

  std::vector<std::string> children_of(const std::string& path) {
    std::vector<std::string> out;
    for (auto& [p, d] : nodes_)
      if (p != "/" && parent_of(p) == path)
        out.push_back(p.substr(path == "/" ? 1 : path.size() + 1));
    return out;
  }

  response answer(request_body b) {
    sent.push_back(b);
    response r;
    if (auto* c = std::get_if<create_request>(&b)) {
      if (nodes_.count(c->path))
        return error(error_code::node_exists, c->path);
      nodes_[c->path] = c->data;
      if (c->null_data)
        null_data_.insert(c->path);
      r.body = create_result{c->path, {}};
    } else if (auto* d = std::get_if<delete_request>(&b)) {
      if (!nodes_.count(d->path))
        return error(error_code::no_node, d->path);
      if (!children_of(d->path).empty())
        return error(error_code::not_empty, d->path);
      nodes_.erase(d->path);
    } else if (auto* g = std::get_if<get_children_request>(&b)) {
      if (!nodes_.count(g->path))
        return error(error_code::no_node, g->path);
      r.body = children_result{children_of(g->path), {}};
    } else if (auto* gd = std::get_if<get_data_request>(&b)) {
      if (!nodes_.count(gd->path))
        return error(error_code::no_node, gd->path);
      node_stat st;
      st.data_length = static_cast<int32_t>(nodes_[gd->path].size());
      r.body = data_result{nodes_[gd->path], st, null_data_.count(gd->path) > 0};
    } else if (auto* e = std::get_if<exists_request>(&b)) {
      if (!nodes_.count(e->path))
        return error(error_code::no_node, e->path);
      r.body = node_stat{};
    } else if (auto* rc = std::get_if<reconfig_request>(&b)) {
      reconfigs.push_back(*rc);
      r.body = data_result{"server.1=127.0.0.1:2891:2281:participant\nversion=100000002", {}, false};
    } else if (auto* s = std::get_if<set_data_request>(&b)) {
      if (s->version > 0)
        return error(error_code::bad_version, s->path);
      nodes_[s->path] = s->data;
      node_stat st;
      st.version = 1;
      r.body = st;
    }
    return r;
  }
};

struct cli : ::testing::Test {
  fake_session session;
  std::ostringstream out, err;
  shell sh{session.calls(), out, err};

  bool run(const std::string& line) {
    std::string problem;
    auto words = tokenize(line, problem);
    EXPECT_EQ(problem, "") << line;
    return sh.execute(words);
  }
};

} // namespace

TEST(cli_table, every_command_has_a_usage_that_starts_with_its_name_and_a_handler) {
  std::set<std::string> seen;
  for (auto& c : commands()) {
    EXPECT_TRUE(seen.insert(c.name).second) << c.name << " is in the table twice";
    for (auto* alias : c.aliases)
      EXPECT_TRUE(seen.insert(alias).second) << alias << " names two commands";
    EXPECT_EQ(std::string(c.usage).rfind(c.name, 0), 0u) << c.usage;
    EXPECT_NE(c.run, nullptr) << c.name;
    EXPECT_LE(c.min_args, c.max_args) << c.name;
  }
  // zkCli.sh's commands that clients script against.
  for (auto* name : {"ls", "create", "get", "set", "delete", "deleteall", "stat", "getAcl", "setAcl", "sync", "quit"})
    EXPECT_TRUE(seen.count(name)) << name;
  EXPECT_EQ(command_names().size(), commands().size());
}

TEST_F(cli, help_lists_every_command_from_the_table) {
  EXPECT_TRUE(run("help"));
  for (auto& c : commands())
    EXPECT_NE(out.str().find(std::string("  ") + c.usage + "\n"), std::string::npos) << c.usage;
}

TEST_F(cli, create_flags_choose_the_mode_and_the_acl_and_data_pass_through) {
  EXPECT_TRUE(run("create -e -s /q- 'two words' world:anyone:r"));
  ASSERT_EQ(session.sent.size(), 1u);
  auto& c = std::get<create_request>(session.sent[0]);
  EXPECT_EQ(c.path, "/q-");
  EXPECT_EQ(c.data, "two words");
  EXPECT_EQ(c.mode, create_mode::ephemeral_sequential);
  ASSERT_EQ(c.acl.size(), 1u);
  EXPECT_EQ(c.acl[0].perms, perm::read);
  EXPECT_EQ(out.str(), "Created /q-\n");

  EXPECT_TRUE(run("create -t 5000 /ttl"));
  auto& t = std::get<create_request>(session.sent.back());
  EXPECT_EQ(t.mode, create_mode::persistent_with_ttl);
  EXPECT_EQ(t.ttl, 5000);
  EXPECT_TRUE(run("create -c /box"));
  EXPECT_EQ(std::get<create_request>(session.sent.back()).mode, create_mode::container);
}

// As zkCli.sh: a create without data creates a node with no data at all (null), which get prints
// as "null"; an empty argument is empty data.
TEST_F(cli, create_without_data_makes_null_data_and_get_prints_null) {
  EXPECT_TRUE(run("create /none"));
  EXPECT_TRUE(std::get<create_request>(session.sent.back()).null_data);
  EXPECT_TRUE(run("create /empty ''"));
  EXPECT_FALSE(std::get<create_request>(session.sent.back()).null_data);
  out.str("");
  EXPECT_TRUE(run("get /none"));
  EXPECT_TRUE(run("get /empty"));
  EXPECT_EQ(out.str(), "null\n\n");
}

// setquota writes what zkCli.sh 3.8 writes: the quota path's nodes (null data), the limits as
// StatsTrack text with all four keys, and a stats node; listquota prints both back; delquota -N
// resets that key only; delquota removes the nodes.
TEST_F(cli, quota_commands_write_and_read_zookeepers_quota_nodes) {
  session.nodes_["/app"] = "";
  EXPECT_TRUE(run("setquota -N 3 /app"));
  EXPECT_EQ(session.nodes_["/zookeeper/quota/app/zookeeper_limits"],
            "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3");
  EXPECT_EQ(session.nodes_["/zookeeper/quota/app/zookeeper_stats"], "count=0,bytes=0");
  out.str("");
  EXPECT_TRUE(run("listquota /app"));
  EXPECT_EQ(out.str(), "Output quota for /app count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3\n"
                       "Output stat for /app count=0,bytes=0\n");
  EXPECT_TRUE(run("setquota -b 100 /app")); // an existing quota keeps its other limits
  EXPECT_EQ(session.nodes_["/zookeeper/quota/app/zookeeper_limits"],
            "count=-1,bytes=100=;byteHardLimit=-1;countHardLimit=3");
  EXPECT_TRUE(run("delquota -N /app"));
  EXPECT_EQ(session.nodes_["/zookeeper/quota/app/zookeeper_limits"],
            "count=-1,bytes=100=;byteHardLimit=-1;countHardLimit=-1");
  EXPECT_TRUE(run("delquota /app"));
  EXPECT_EQ(session.nodes_.count("/zookeeper/quota/app/zookeeper_limits"), 0u);
  EXPECT_EQ(session.nodes_.count("/zookeeper/quota/app"), 0u);
  err.str("");
  EXPECT_FALSE(run("setquota -N 0 /app"));
  EXPECT_EQ(err.str(), "the num quota must be greater than zero\n");
  EXPECT_FALSE(run("setquota -N 1 /missing"));
}

TEST_F(cli, a_bad_line_prints_why_and_the_usage_and_sends_nothing) {
  EXPECT_FALSE(run("create"));
  EXPECT_FALSE(run("create -c -e /x"));
  EXPECT_FALSE(run("get -q /x"));
  EXPECT_FALSE(run("set /x"));
  EXPECT_FALSE(run("delete -v"));
  EXPECT_FALSE(run("ls /a /b"));
  EXPECT_TRUE(session.sent.empty());
  auto e = err.str();
  EXPECT_NE(e.find("create: too few arguments\nusage: create [-e] [-s] [-c] [-t ttl] path [data] [acl]\n"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("create: -c cannot be combined with -e, -s or -t\n"), std::string::npos) << e;
  EXPECT_NE(e.find("get: unknown option -q\nusage: get [-s] [-w] path\n"), std::string::npos) << e;
  EXPECT_NE(e.find("delete: option -v needs a value\n"), std::string::npos) << e;
  EXPECT_NE(e.find("ls: too many arguments\n"), std::string::npos) << e;
}

TEST_F(cli, numbers_are_checked_before_anything_is_sent) {
  EXPECT_FALSE(run("set -v x /a data"));
  EXPECT_FALSE(run("create -t 0 /a"));
  EXPECT_FALSE(run("create -t 5s /a"));
  EXPECT_TRUE(session.sent.empty());
  EXPECT_NE(err.str().find("version must be a number"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("ttl (milliseconds) must be a number"), std::string::npos) << err.str();
}

TEST_F(cli, set_sends_the_version_and_errors_print_as_zkcli_does) {
  session.nodes_["/a"] = "x";
  EXPECT_FALSE(run("set -v 3 /a y"));
  EXPECT_EQ(std::get<set_data_request>(session.sent.back()).version, 3);
  EXPECT_EQ(err.str(), "KeeperErrorCode = BadVersion for /a\n");
  EXPECT_TRUE(run("set -s /a y"));
  EXPECT_EQ(std::get<set_data_request>(session.sent.back()).version, -1);
  EXPECT_NE(out.str().find("dataVersion = 1\n"), std::string::npos) << out.str();
}

TEST_F(cli, deleteall_and_its_alias_remove_a_subtree_deepest_first) {
  for (auto* p : {"/a", "/a/b", "/a/b/c", "/a/d", "/keep"})
    session.nodes_[p] = "";
  EXPECT_TRUE(run("rmr /a"));
  EXPECT_EQ(session.nodes_.count("/a"), 0u);
  EXPECT_EQ(session.nodes_.count("/a/b/c"), 0u);
  EXPECT_EQ(session.nodes_.count("/keep"), 1u);
  std::vector<std::string> deleted;
  for (auto& b : session.sent)
    if (auto* d = std::get_if<delete_request>(&b))
      deleted.push_back(d->path);
  ASSERT_EQ(deleted.size(), 4u);
  EXPECT_EQ(deleted.back(), "/a");
  EXPECT_FALSE(run("deleteall /nope"));
  EXPECT_EQ(err.str(), "KeeperErrorCode = NoNode for /nope\n");
}

TEST_F(cli, ls_recursive_walks_breadth_first_and_get_watch_asks_for_a_watch) {
  for (auto* p : {"/a", "/a/b", "/a/b/c", "/a/d"})
    session.nodes_[p] = "v";
  EXPECT_TRUE(run("ls -R /a"));
  EXPECT_EQ(out.str(), "/a\n/a/b\n/a/d\n/a/b/c\n");
  EXPECT_TRUE(run("get -w /a/d"));
  EXPECT_TRUE(std::get<get_data_request>(session.sent.back()).watch);
  EXPECT_NE(out.str().find("\nv\n"), std::string::npos);
}

TEST_F(cli, quit_close_and_unknown_commands) {
  EXPECT_FALSE(run("frobnicate /"));
  EXPECT_EQ(err.str(), "unknown command 'frobnicate'; type help for the list\n");
  EXPECT_TRUE(run("close"));
  EXPECT_EQ(session.closes, 1);
  EXPECT_FALSE(sh.quit_requested());
  EXPECT_TRUE(run("exit"));
  EXPECT_TRUE(sh.quit_requested());
  EXPECT_TRUE(session.sent.empty());
}

TEST_F(cli, completion_offers_the_children_that_start_with_the_prefix) {
  for (auto* p : {"/apps", "/apple", "/zoo", "/apps/x"})
    session.nodes_[p] = "";
  auto got = sh.complete_path("/ap");
  EXPECT_EQ(got, (std::vector<std::string>{"/apple", "/apps"}));
  EXPECT_EQ(sh.complete_path("/apps/"), (std::vector<std::string>{"/apps/x"}));
  EXPECT_TRUE(sh.complete_path("relative").empty());
}

TEST(cli_tokenize, quotes_group_words_and_an_open_quote_is_an_error) {
  std::string problem;
  EXPECT_EQ(tokenize("set /a \"hello world\" 'x y'", problem),
            (std::vector<std::string>{"set", "/a", "hello world", "x y"}));
  EXPECT_EQ(problem, "");
  EXPECT_EQ(tokenize("  spaced\t words  ", problem), (std::vector<std::string>{"spaced", "words"}));
  EXPECT_EQ(tokenize("set /a ''", problem), (std::vector<std::string>{"set", "/a", ""}));
  tokenize("get 'open", problem);
  EXPECT_EQ(problem, "unterminated quote");
}

// config and reconfig as zkCli.sh has them; reconfig also takes Corral's member form (corral.ensemble's).
TEST_F(cli, reconfig_sends_zookeepers_server_lines_from_either_form_and_prints_the_new_configuration) {
  session.nodes_["/zookeeper/config"] = "server.1=127.0.0.1:2891:2281:participant;127.0.0.1:2181\n"
                                        "server.2=127.0.0.1:2892:2282:participant;127.0.0.1:2182\nversion=0";
  EXPECT_TRUE(run("config -c"));
  EXPECT_EQ(out.str(), "0 127.0.0.1:2181,127.0.0.1:2182\n");
  out.str("");
  EXPECT_TRUE(run("reconfig -v 100000001 -add 5=127.0.0.1:2285:2895:observer;2185,server.6=h:1:2;3 -remove 3"));
  ASSERT_EQ(session.reconfigs.size(), 1u);
  auto& r = session.reconfigs[0];
  EXPECT_EQ(r.joining,
            std::optional<std::string>("server.5=127.0.0.1:2895:2285:observer;127.0.0.1:2185,server.6=h:1:2;3"));
  EXPECT_EQ(r.leaving, std::optional<std::string>("3"));
  EXPECT_FALSE(r.members.has_value());
  EXPECT_EQ(r.from_config, 0x100000001);
  EXPECT_EQ(out.str(), "Committed new configuration:\nserver.1=127.0.0.1:2891:2281:participant\nversion=100000002\n");
  EXPECT_FALSE(run("reconfig -add"));
  EXPECT_FALSE(run("reconfig -grow 4"));
  EXPECT_FALSE(run("reconfig -add 4=nonsense"));
  EXPECT_EQ(session.reconfigs.size(), 1u) << "nothing is sent for a command that is wrong";
}
