// Differential tests: the same operations against Apache ZooKeeper 3.8 (the Debian package's server,
// started here on a free 127.0.0.1 port) and against Corral must give the same results: error codes,
// data, the stat fields other than times and zxids, events, sequential names, ACLs. Driven twice:
// by ZooKeeper's C client, and by zkCli.sh run as a process.
#include <gtest/gtest.h>

#include <zookeeper/zookeeper.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/filesystem.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "core/format.hpp"
#include "harness.hpp"
#include "protocol/jute_codec.hpp"

using namespace std::chrono_literals;
namespace fs = boost::filesystem;
using corral::test::eventually;
using corral::test::four_letter_word;
using corral::test::free_port;
using corral::test::server_process;

namespace {

const char* zk_home = "/usr/share/zookeeper/bin";

// Apache ZooKeeper 3.8 standalone, from the Debian package, in a temporary directory.
class zookeeper_reference {
public:
  zookeeper_reference() {
    dir_ = (fs::temp_directory_path() / fs::unique_path("corral-zkref-%%%%-%%%%")).string();
    fs::create_directories(dir_ + "/data");
    port_ = free_port();
    std::ofstream(dir_ + "/zoo.cfg") << "tickTime=2000\ndataDir=" << dir_ << "/data\nclientPort=" << port_
                                     << "\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                                        "extendedTypesEnabled=true\n4lw.commands.whitelist=*\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);                    // the JVM and the script that starts it, as one group to stop
      ::prctl(PR_SET_PDEATHSIG, SIGKILL); // and gone if this test process dies
      ::setenv("ZOO_LOG_DIR", dir_.c_str(), 1);
      ::setenv("ZOOCFGDIR", dir_.c_str(), 1);
      ::setenv("SERVER_JVMFLAGS", "-Dzookeeper.enforceQuota=true", 1); // hard quotas, as Corral's default
      int out = ::open((dir_ + "/server.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::string script = std::string(zk_home) + "/zkServer.sh", cfg = dir_ + "/zoo.cfg";
      ::execl(script.c_str(), script.c_str(), "start-foreground", cfg.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    // ruok answers before the database is loaded; srvr says the mode only once it serves.
    if (!eventually([&] { return four_letter_word(port_, "srvr").find("Mode:") != std::string::npos; }, 60s))
      throw std::runtime_error("Apache ZooKeeper did not start (is the zookeeper package installed?)");
  }
  ~zookeeper_reference() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    boost::system::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// ---- the C client's transcript -----------------------------------------------------------------

struct watcher_log {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> events;
  bool connected = false;
};

void on_event(zhandle_t*, int type, int state, const char* path, void* ctx) {
  auto* w = static_cast<watcher_log*>(ctx);
  std::lock_guard<std::mutex> lock(w->mu);
  if (type == ZOO_SESSION_EVENT) {
    w->connected = w->connected || state == ZOO_CONNECTED_STATE;
  } else {
    w->events.push_back("event " + std::to_string(type) + " " + (path != nullptr ? path : ""));
  }
  w->cv.notify_all();
}

struct session {
  watcher_log log;
  zhandle_t* h = nullptr;
  explicit session(const std::string& hosts) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    h = zookeeper_init(hosts.c_str(), on_event, 10000, nullptr, &log, 0);
    std::unique_lock<std::mutex> lock(log.mu);
    if (h == nullptr || !log.cv.wait_for(lock, 20s, [&] { return log.connected; }))
      throw std::runtime_error("cannot connect to " + hosts);
  }
  ~session() {
    if (h != nullptr)
      zookeeper_close(h);
  }
  // Waits until `n` node events arrived (or a moment passed), then hands them over in order.
  std::vector<std::string> take_events(size_t n) {
    std::unique_lock<std::mutex> lock(log.mu);
    log.cv.wait_for(lock, 5s, [&] { return log.events.size() >= n; });
    auto out = std::move(log.events);
    log.events.clear();
    return out;
  }
};

std::string stat_line(const Stat& s) {
  // Times and zxids differ between any two servers; everything else must not.
  return "version=" + std::to_string(s.version) + " cversion=" + std::to_string(s.cversion) +
         " aversion=" + std::to_string(s.aversion) + " dataLength=" + std::to_string(s.dataLength) +
         " numChildren=" + std::to_string(s.numChildren) + " ephemeral=" + (s.ephemeralOwner != 0 ? "yes" : "no") +
         " pzxid>=czxid=" + (s.pzxid >= s.czxid ? "yes" : "no") +
         " mzxid>=czxid=" + (s.mzxid >= s.czxid ? "yes" : "no");
}

// One fixed sequence of operations through ZooKeeper's C client, two sessions (a and b), recording
// what the server answered, line by line; each section is one member function.
class c_transcript {
public:
  explicit c_transcript(const std::string& hosts) : a(hosts), b(hosts) {}

  std::vector<std::string> run() {
    creates_versions_and_errors();
    multi();
    acls_and_digest_auth();
    watches();
    rc("reconfig", [&] {
      char buf[64];
      int len = sizeof buf;
      return zoo_reconfig(a.h, "server.9=127.0.0.1:1:2", nullptr, nullptr, -1, buf, &len, nullptr);
    }());
    // Closing a session deletes its ephemerals.
    zookeeper_close(a.h);
    a.h = nullptr;
    ls(b, "/d"); // a is closed
    return t;
  }

private:
  std::vector<std::string> t;
  session a, b;
  Stat st{};

  void rc(const std::string& what, int code) { t.push_back(what + " -> " + zerror(code)); }

  void create(session& s, const std::string& path, const std::string& data, int flags,
              const ACL_vector* acl = &ZOO_OPEN_ACL_UNSAFE) {
    char name[256];
    name[0] = 0;
    int r = zoo_create(s.h, path.c_str(), data.data(), static_cast<int>(data.size()), acl, flags, name, sizeof name);
    t.push_back("create " + path + " flags=" + std::to_string(flags) + " -> " + zerror(r) + " " + name);
  }

  void stat(const std::string& path) {
    st = Stat{};
    int r = zoo_exists(a.h, path.c_str(), 0, &st);
    t.push_back("stat " + path + " -> " + zerror(r) + (r == ZOK ? " " + stat_line(st) : ""));
  }

  void get(session& s, const std::string& path) {
    char buf[1024];
    int len = sizeof buf;
    st = Stat{};
    int r = zoo_get(s.h, path.c_str(), 0, buf, &len, &st);
    t.push_back(
        "get " + path + " -> " + zerror(r) +
        (r == ZOK ? " '" + std::string(buf, static_cast<size_t>(std::max(len, 0))) + "' " + stat_line(st) : ""));
  }

  void ls(session& s, const std::string& path) {
    String_vector v{};
    int r = zoo_get_children(s.h, path.c_str(), 0, &v);
    std::vector<std::string> names(v.data, v.data + (r == ZOK ? v.count : 0));
    std::sort(names.begin(), names.end());
    std::string line = "ls " + path + " -> " + zerror(r);
    for (auto& n : names)
      line += " " + n;
    t.push_back(line);
    deallocate_String_vector(&v);
  }

  void creates_versions_and_errors() {
    create(a, "/d", "x", 0);
    create(a, "/d", "y", 0);
    create(a, "/nope/child", "", 0);
    for (int i = 0; i < 3; ++i)
      create(a, "/d/s-", "", ZOO_SEQUENCE);
    rc("delete /d/s-0000000001 v=7", zoo_delete(a.h, "/d/s-0000000001", 7));
    rc("delete /d/s-0000000001", zoo_delete(a.h, "/d/s-0000000001", 0));
    create(a, "/d/s-", "", ZOO_SEQUENCE);
    create(a, "/d/e-", "", ZOO_EPHEMERAL | ZOO_SEQUENCE);
    create(a, "/d/e-0000000004/x", "", 0);
    stat("/d");
    rc("set /d v=5", zoo_set(a.h, "/d", "new", 3, 5));
    rc("set /d v=0", zoo_set(a.h, "/d", "new", 3, 0));
    get(a, "/d");
    ls(a, "/d");
    ls(a, "/zookeeper");
    stat("/missing");
    rc("delete /d", zoo_delete(a.h, "/d", -1));
    create(a, "/c", "", ZOO_CONTAINER);
    create(a, "/c/child", "", 0);
    stat("/c");
  }

  // A failure changes nothing and reports per op; success returns each op's result.
  void multi() {
    zoo_op_t ops[3];
    zoo_op_result_t res[3];
    char p[64];
    zoo_create_op_init(&ops[0], "/m", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, p, sizeof p);
    zoo_set_op_init(&ops[1], "/d", "z", 1, 0, nullptr);
    zoo_check_op_init(&ops[2], "/d", 0);
    int r = zoo_multi(a.h, 3, ops, res);
    t.push_back(std::string("multi(create,set,check) -> ") + zerror(r) + " " + zerror(res[0].err) + " " +
                zerror(res[1].err) + " " + zerror(res[2].err));
    stat("/m");
    zoo_create_op_init(&ops[0], "/m", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, p, sizeof p);
    zoo_set_op_init(&ops[1], "/d", "z", 1, 1, nullptr);
    zoo_delete_op_init(&ops[2], "/d/s-0000000000", -1);
    r = zoo_multi(a.h, 3, ops, res);
    t.push_back(std::string("multi(create,set,delete) -> ") + zerror(r) + " " + p);
    get(a, "/d");
  }

  void acls_and_digest_auth() {
    rc("addauth alice", zoo_add_auth(a.h, "digest", "alice:pw", 8, nullptr, nullptr));
    create(a, "/secret", "s", 0, &ZOO_CREATOR_ALL_ACL);
    create(b, "/anon", "", 0, &ZOO_CREATOR_ALL_ACL);
    get(b, "/secret");
    rc("b set /secret", zoo_set(b.h, "/secret", "x", 1, -1));
    ACL_vector acl{};
    int r = zoo_get_acl(a.h, "/secret", &acl, &st);
    std::string line = std::string("getAcl /secret -> ") + zerror(r);
    for (int i = 0; r == ZOK && i < acl.count; ++i)
      line +=
          " " + std::string(acl.data[i].id.scheme) + ":" + acl.data[i].id.id + ":" + std::to_string(acl.data[i].perms);
    t.push_back(line);
    deallocate_ACL_vector(&acl);
    rc("setAcl /secret v=3", zoo_set_acl(a.h, "/secret", 3, &ZOO_READ_ACL_UNSAFE));
    rc("setAcl /secret v=0", zoo_set_acl(a.h, "/secret", 0, &ZOO_READ_ACL_UNSAFE));
    get(b, "/secret");
    stat("/secret");
    rc("b delete /secret", zoo_delete(b.h, "/secret", -1));
  }

  // Which operations fire which events.
  void watches() {
    char buf[16];
    int len = sizeof buf;
    zoo_get(b.h, "/d", 1, buf, &len, &st);
    String_vector v{};
    zoo_get_children(b.h, "/d", 1, &v);
    deallocate_String_vector(&v);
    zoo_exists(b.h, "/w", 1, &st);
    create(a, "/d/new", "", 0); // child event on /d only
    create(a, "/w", "", 0);     // created event
    rc("set /d", zoo_set(a.h, "/d", "again", 5, -1));
    for (auto& e : b.take_events(3))
      t.push_back(e);
    zoo_exists(b.h, "/w", 1, &st);
    rc("delete /w", zoo_delete(a.h, "/w", -1));
    for (auto& e : b.take_events(1))
      t.push_back(e);
    rc("set /d (no watch left)", zoo_set(a.h, "/d", "more", 4, -1));
    std::this_thread::sleep_for(200ms);
    t.push_back("events after unwatched change: " + std::to_string(b.take_events(0).size()));
  }
};

std::vector<std::string> c_client_transcript(const std::string& hosts) { return c_transcript(hosts).run(); }

// ---- zkCli.sh's transcript ---------------------------------------------------------------------

// Sorts the items of a printed list: "[b, a]" -> "[a, b]".
std::string sorted_list(const std::string& line) {
  std::vector<std::string> items;
  std::istringstream in(line.substr(1, line.size() - 2));
  for (std::string item; std::getline(in, item, ',');)
    items.push_back(item.substr(item.find_first_not_of(' ')));
  std::sort(items.begin(), items.end());
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i)
    out += (i ? ", " : "") + items[i];
  return out + "]";
}

// zkCli's output with times, zxids and session ids masked, and its log lines dropped. Where
// ZooKeeper prints a Java HashSet's order (getEphemerals, whoami), both sides are sorted: the order
// carries no meaning and follows Java's string hashes.
std::string normalised(const std::string& out) {
  std::string s = std::regex_replace(out, std::regex("(cZxid|mZxid|pZxid) = 0x[0-9a-f]+"), "$1 = Z");
  s = std::regex_replace(s, std::regex("(ctime|mtime) = [^\n]*"), "$1 = T");
  s = std::regex_replace(s, std::regex("ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*"), "ephemeralOwner = S");
  s = std::regex_replace(s, std::regex("sessionid:0x[0-9a-f]+"), "sessionid:S");
  std::istringstream lines(s);
  std::string keep;
  for (std::string line; std::getline(lines, line);) {
    // Connection chatter and log lines are not results.
    if (line.rfind("Connecting to", 0) == 0 || line.rfind("Welcome to", 0) == 0 ||
        line.find("JLine") != std::string::npos || line.find("WATCHER::") != std::string::npos ||
        line.find("WatchedEvent state:") != std::string::npos || line.empty() ||
        line.find("SLF4J") != std::string::npos || line.rfind("\tat ", 0) == 0 ||
        line.find("log4j") != std::string::npos)
      continue;
    if (line.rfind("[/", 0) == 0 && line.back() == ']')
      line = sorted_list(line);
    keep += line + "\n";
  }
  // whoami: "Auth scheme: User" and then one "scheme: user" line per identity.
  auto at = keep.find("Auth scheme: User\n");
  if (at != std::string::npos) {
    auto begin = at + 18, end = begin;
    std::vector<std::string> ids;
    for (std::string::size_type nl; (nl = keep.find('\n', end)) != std::string::npos;) {
      auto line = keep.substr(end, nl - end);
      if (line.rfind("ip: ", 0) != 0 && line.rfind("digest: ", 0) != 0 && line.rfind("super: ", 0) != 0)
        break;
      ids.push_back(line);
      end = nl + 1;
    }
    std::sort(ids.begin(), ids.end());
    std::string block;
    for (auto& id : ids)
      block += id + "\n";
    keep.replace(begin, end - begin, block);
  }
  return keep;
}

corral::test::cli_result zkcli(const std::string& address, const std::string& script) {
  return corral::test::run_tool(std::string(zk_home) + "/zkCli.sh", {"-server", address}, script);
}

const char* zkcli_script = R"(create /cli hello
create /nodata
get /nodata
set /nodata ""
get -s /nodata
create -e /cli/eph e
create -s /cli/seq- s
create -s -e /cli/seq- s
create -c /box
create -t 60000 /ttl t
create /cli exists
ls /cli
ls -s /cli
get -s /cli
set /cli world
set -v 7 /cli nope
stat /cli
setAcl /cli world:anyone:cdrw
getAcl /cli
addauth digest bob:secret
create /secret x auth:bob:cdrwa
getAcl /secret
get /secret
whoami
getEphemerals
getEphemerals /cli
getAllChildrenNumber /cli
getAllChildrenNumber /
ls -R /cli
addWatch /cli
addWatch -m PERSISTENT_RECURSIVE /box
removewatches /cli
removewatches /nowhere
delete -v 5 /cli/seq-0000000001
delete /cli/seq-0000000001
delete /cli
deleteall /cli
ls /
get /zookeeper/config
create /qt
setquota -N 3 /qt
create /qt/a
create /qt/b
create /qt/c
listquota /qt
setquota -n 10 /qt
listquota /qt
delquota -N /qt
create /qt/c
listquota /qt
setquota -B 4 /qt
set /qt 12345
delquota /qt
listquota /qt
set /qt 12345
sync /
stat /gone
close
)";

} // namespace

TEST(zookeeper_differential, the_c_client_sees_the_same_results) {
  zookeeper_reference reference;
  server_process corral_server{{"--corral.ttl-nodes"}};
  auto expected = c_client_transcript(reference.address());
  auto actual = c_client_transcript(corral_server.zk_address());
  ASSERT_GT(expected.size(), 40u);
  for (size_t i = 0; i < std::max(expected.size(), actual.size()); ++i)
    EXPECT_EQ(i < actual.size() ? actual[i] : "(missing)", i < expected.size() ? expected[i] : "(missing)")
        << "line " << i;
}

TEST(zookeeper_differential, zkcli_prints_the_same) {
  zookeeper_reference reference;
  server_process corral_server{{"--corral.ttl-nodes"}};
  auto expected = zkcli(reference.address(), zkcli_script);
  auto actual = zkcli(corral_server.zk_address(), zkcli_script);
  ASSERT_EQ(expected.exit_code, 0) << expected.err;
  // Results go to standard output, errors and "Created" lines to standard error.
  auto want = normalised(expected.out), got = normalised(actual.out);
  EXPECT_NE(want.find("digest: bob"), std::string::npos) << want;
  EXPECT_EQ(got, want);
  auto want_err = normalised(expected.err), got_err = normalised(actual.err);
  EXPECT_NE(want_err.find("Created /cli/seq-0000000001"), std::string::npos) << want_err;
  EXPECT_EQ(got_err, want_err);
}

TEST(zookeeper_differential, four_letter_words_answer_in_zookeepers_layout) {
  zookeeper_reference reference;
  server_process corral_server{{"--corral.four-letter-words=ruok,srvr,stat,mntr,conf,isro,wchs,dirs"}};
  auto port = static_cast<uint16_t>(corral_server.zk_port());
  EXPECT_EQ(four_letter_word(port, "ruok"), "imok");
  EXPECT_EQ(four_letter_word(port, "isro"), "rw");
  // The same lines, in the same order, as ZooKeeper's (values differ).
  auto keys = [](const std::string& text) {
    std::vector<std::string> k;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      k.push_back(line.substr(0, line.find_first_of(":\t")));
    return k;
  };
  auto ref_port = static_cast<uint16_t>(std::stoi(reference.address().substr(10)));
  EXPECT_EQ(keys(four_letter_word(port, "srvr")), keys(four_letter_word(ref_port, "srvr")));
  EXPECT_NE(four_letter_word(port, "srvr").find("Mode: standalone"), std::string::npos);
  EXPECT_EQ(four_letter_word(port, "wchs"), "0 connections watching 0 paths\nTotal watches:0\n");
  EXPECT_NE(four_letter_word(port, "mntr").find("zk_znode_count\t"), std::string::npos);
  EXPECT_NE(four_letter_word(port, "conf").find("clientPort=" + std::to_string(port)), std::string::npos);
  // dirs: the data directory's bytes (the metadata file at least), measured by the snapshotter.
  auto dirs = four_letter_word(port, "dirs");
  ASSERT_EQ(dirs.rfind("datadir_size: ", 0), 0u) << dirs;
  EXPECT_GT(std::stoull(dirs.substr(14)), 0u) << dirs;
  // Not whitelisted: refused in ZooKeeper's words.
  EXPECT_EQ(four_letter_word(port, "envi"), "envi is not executed because it is not in the whitelist.\n");
}

namespace {

// One raw ZooKeeper-protocol connection: the operations that ZooKeeper's C client and zkCli do not
// send (multiRead, checkWatches, setWatches2, ...), sent as bytes, with every packet the server
// sends back recorded (header zxids masked: they differ between any two servers).
class raw_session {
public:
  explicit raw_session(uint16_t port) : fd_(corral::test::connect_to(port)), packets_(4u << 20) {
    timeval limit{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    corral::protocol::connect_request req;
    req.timeout_ms = 10000;
    req.password = std::string(16, '\0');
    std::vector<char> out;
    corral::protocol::jute::encode_connect_request(req, true, out);
    send_bytes(out);
    std::string body;
    if (!next(body))
      throw std::runtime_error("no ConnectResponse");
  }
  ~raw_session() { ::close(fd_); }

  // Sends a request and reads packets until its reply (events that come first are kept too).
  std::vector<std::string> call(const corral::request& r, corral::protocol::jute::reply_shape shape) {
    std::vector<char> out;
    corral::protocol::jute::encode_request(r, shape, out);
    send_bytes(out);
    std::vector<std::string> got;
    std::string p;
    while (next(p)) {
      auto h = corral::protocol::jute::decode_reply_header(p);
      if (!h)
        break;
      if (h->xid != corral::protocol::jute::notification_xid)
        std::fill(p.begin() + 4, p.begin() + 12, 'Z');
      got.push_back(p);
      if (h->xid == r.xid)
        return got;
    }
    got.push_back("(connection closed)");
    return got;
  }

private:
  void send_bytes(const std::vector<char>& b) {
    if (::write(fd_, b.data(), b.size()) != static_cast<ssize_t>(b.size()))
      throw std::runtime_error("write failed");
  }
  bool next(std::string& body) {
    for (;;) {
      auto st = packets_.next(body);
      if (st != corral::protocol::jute::packet_reader::status::need_more)
        return st == corral::protocol::jute::packet_reader::status::packet;
      char buf[65536];
      auto n = ::read(fd_, buf, sizeof buf);
      if (n <= 0)
        return false;
      packets_.feed(buf, static_cast<size_t>(n));
    }
  }
  int fd_;
  corral::protocol::jute::packet_reader packets_;
};

std::vector<std::string> raw_transcript(uint16_t port) {
  using namespace corral;
  using oc = op_code;
  acl_list open{{perm::all, "world", "anyone"}};
  raw_session s(port);
  std::vector<std::string> t;
  auto call = [&](const request& r, protocol::jute::reply_shape shape) {
    for (auto& p : s.call(r, shape))
      t.push_back(std::string(request_name(r.body)) + ": " + p);
  };
  call({1, create_request{"/r", "", open, create_mode::persistent, -1}}, {oc::create, {}});
  call({2, create_request{"/r/a", "", open, create_mode::persistent, -1}}, {oc::create, {}});
  call({3, create_request{"/r/b", "", open, create_mode::ephemeral, -1}}, {oc::create, {}});
  call({4, multi_read_request{{get_children_request{"/r", false}, get_data_request{"/missing", false},
                               get_children_request{"/r/a", false}}}},
       {oc::multi_read, {oc::get_children, oc::get_data, oc::get_children}});
  call({5, remove_watches_request{"/r", watcher_type::data, true}}, {oc::check_watches, {}});
  call({6, get_children_request{"/r", true}}, {oc::get_children, {}});
  call({7, remove_watches_request{"/r", watcher_type::children, true}}, {oc::check_watches, {}});
  call({8, remove_watches_request{"/r", watcher_type::data, true}}, {oc::check_watches, {}});
  call({9, remove_watches_request{"/r", watcher_type::any, false}}, {oc::remove_watches, {}});
  call({10, get_all_children_number_request{"/r"}}, {oc::get_all_children_number, {}});
  call({11, get_all_children_number_request{"/nowhere"}}, {oc::get_all_children_number, {}});
  call({12, get_ephemerals_request{"/r"}}, {oc::get_ephemerals, {}});
  call({13, get_ephemerals_request{"/x"}}, {oc::get_ephemerals, {}});
  call({14, who_am_i_request{}}, {oc::who_am_i, {}});
  // setWatches2: a persistent watch armed on reconnect; a create under /r then fires it.
  call({protocol::jute::set_watches_xid, set_watches_request{0, {}, {}, {}, {"/r"}, {}}}, {oc::set_watches2, {}});
  call({15, create_request{"/r/c", "", open, create_mode::persistent, -1}}, {oc::create, {}});
  call({16, add_watch_request{"/r/a", add_watch_mode::persistent_recursive}}, {oc::add_watch, {}});
  call({17, delete_request{"/r/a", -1}}, {oc::remove, {}});
  call({18, sync_request{"/r"}}, {oc::sync, {}});
  call({protocol::jute::ping_xid, ping_request{}}, {oc::ping, {}});
  call({19, multi_request{{check_request{"/r", 99}, delete_request{"/r/c", -1}}}},
       {oc::multi, {oc::check, oc::remove}});
  call({20, reconfig_request{}}, {oc::reconfig, {}});
  call({21, close_request{}}, {oc::close_session, {}});
  return t;
}

// The packet in hex; masked zxids read 5a5a... ('Z').
std::string printable(const std::string& bytes) { return corral::hex_bytes(bytes.data(), bytes.size()); }

} // namespace

TEST(zookeeper_differential, raw_packets_for_the_ops_other_clients_do_not_send) {
  zookeeper_reference reference;
  server_process corral_server;
  auto ref_port = static_cast<uint16_t>(std::stoi(reference.address().substr(10)));
  auto expected = raw_transcript(ref_port);
  auto actual = raw_transcript(static_cast<uint16_t>(corral_server.zk_port()));
  ASSERT_GT(expected.size(), 20u);
  for (size_t i = 0; i < std::max(expected.size(), actual.size()); ++i) {
    auto want = i < expected.size() ? expected[i] : "(missing)";
    auto got = i < actual.size() ? actual[i] : "(missing)";
    EXPECT_EQ(printable(got), printable(want)) << "packet " << i << ": " << got.substr(0, got.find(':'));
  }
}
