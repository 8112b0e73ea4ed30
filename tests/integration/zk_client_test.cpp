// Apache ZooKeeper's own C client (libzookeeper-mt, Debian 12) against a Corral server's ZooKeeper
// port: every operation the client library offers, watches, ACLs with digest auth, multi, ephemerals
// on close and expiry, session resume on another connection, oversize and garbage input.
#include <gtest/gtest.h>

#include <zookeeper/zookeeper.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "protocol/jute_codec.hpp"

using namespace std::chrono_literals;
using corral::test::server_process;

namespace {

struct event {
  int type;
  int state;
  std::string path;
};

// A zhandle_t whose watcher queues every event (session and node events alike).
class zk_client {
public:
  explicit zk_client(const std::string& hosts, int timeout_ms = 10000, const clientid_t* resume = nullptr) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zh_ = zookeeper_init(hosts.c_str(), &zk_client::on_event, timeout_ms, resume, this, 0);
    if (zh_ == nullptr)
      throw std::runtime_error("zookeeper_init failed");
  }
  ~zk_client() { close(); }
  zk_client(const zk_client&) = delete;

  zhandle_t* h() const { return zh_; }
  void close() {
    if (zh_ != nullptr)
      zookeeper_close(zh_);
    zh_ = nullptr;
  }

  // Waits for a session event with this state (ZOO_CONNECTED_STATE, ZOO_EXPIRED_SESSION_STATE, ...).
  bool wait_state(int state, std::chrono::milliseconds within = 10s) {
    return wait_for([&](const event& e) { return e.type == ZOO_SESSION_EVENT && e.state == state; }, within);
  }
  // Waits for a node event of `type` on `path`.
  bool wait_node_event(int type, const std::string& path, std::chrono::milliseconds within = 5s) {
    return wait_for([&](const event& e) { return e.type == type && e.path == path; }, within);
  }
  // Node events (session events aside) received so far and not yet waited for.
  size_t node_events() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (auto& e : events_)
      n += e.type != ZOO_SESSION_EVENT ? 1 : 0;
    return n;
  }

private:
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds within) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, within, [&] {
      for (auto it = events_.begin(); it != events_.end(); ++it)
        if (pred(*it)) {
          events_.erase(it);
          return true;
        }
      return false;
    });
  }
  static void on_event(zhandle_t*, int type, int state, const char* path, void* ctx) {
    auto* self = static_cast<zk_client*>(ctx);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->events_.push_back({type, state, path != nullptr ? path : ""});
    self->cv_.notify_all();
  }

  zhandle_t* zh_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<event> events_;
};

std::string get(zhandle_t* h, const std::string& path, Stat* stat = nullptr, int* rc_out = nullptr) {
  std::vector<char> buf(2 << 20);
  int len = static_cast<int>(buf.size());
  Stat st{};
  int rc = zoo_get(h, path.c_str(), 0, buf.data(), &len, stat != nullptr ? stat : &st);
  if (rc_out != nullptr)
    *rc_out = rc;
  return rc == ZOK && len > 0 ? std::string(buf.data(), static_cast<size_t>(len)) : std::string();
}

std::vector<std::string> children(zhandle_t* h, const std::string& path) {
  String_vector v{};
  std::vector<std::string> out;
  if (zoo_get_children(h, path.c_str(), 0, &v) == ZOK)
    for (int i = 0; i < v.count; ++i)
      out.push_back(v.data[i]);
  deallocate_String_vector(&v);
  std::sort(out.begin(), out.end());
  return out;
}

class zk_client_test : public ::testing::Test {
protected:
  server_process server{{"--corral.ttl-nodes", "--corral.four-letter-words=*"}};
  std::string hosts() const { return server.zk_address(); }
  // The server's own count of armed watches (wchs), which the client library cannot hide: it drops
  // events nobody registered for, so only the server tells whether a watch is still armed.
  int server_watches() {
    auto text = corral::test::four_letter_word(static_cast<uint16_t>(server.zk_port()), "wchs");
    auto at = text.find("Total watches:");
    return at == std::string::npos ? -1 : std::stoi(text.substr(at + 14));
  }
};

} // namespace

TEST_F(zk_client_test, create_get_set_delete_with_versions_and_stats) {
  zk_client c(hosts());
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  auto* h = c.h();
  ASSERT_EQ(zoo_create(h, "/app", "v0", 2, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  EXPECT_EQ(zoo_create(h, "/app", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZNODEEXISTS);
  EXPECT_EQ(zoo_create(h, "/none/child", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZNONODE);
  Stat st{};
  EXPECT_EQ(get(h, "/app", &st), "v0");
  EXPECT_EQ(st.version, 0);
  EXPECT_EQ(st.dataLength, 2);
  EXPECT_EQ(st.czxid, st.mzxid);
  EXPECT_EQ(zoo_set(h, "/app", "v1", 2, 5), ZBADVERSION);
  EXPECT_EQ(zoo_set(h, "/app", "v1", 2, 0), ZOK);
  EXPECT_EQ(get(h, "/app", &st), "v1");
  EXPECT_EQ(st.version, 1);
  EXPECT_GT(st.mzxid, st.czxid);
  // create2 returns the stat; sequential names are %010d from the parent's cversion.
  char name[64];
  Stat created{};
  ASSERT_EQ(zoo_create2(h, "/app/job-", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, name, sizeof name, &created), ZOK);
  EXPECT_STREQ(name, "/app/job-0000000000");
  EXPECT_EQ(created.dataLength, 1);
  ASSERT_EQ(zoo_create(h, "/app/job-", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, name, sizeof name), ZOK);
  EXPECT_STREQ(name, "/app/job-0000000001");
  Stat parent{};
  ASSERT_EQ(zoo_exists(h, "/app", 0, &parent), ZOK);
  EXPECT_EQ(parent.numChildren, 2);
  EXPECT_EQ(parent.cversion, 2);
  EXPECT_EQ(children(h, "/app"), (std::vector<std::string>{"job-0000000000", "job-0000000001"}));
  String_vector v{};
  Stat s2{};
  ASSERT_EQ(zoo_get_children2(h, "/app", 0, &v, &s2), ZOK);
  EXPECT_EQ(v.count, 2);
  EXPECT_EQ(s2.numChildren, 2);
  deallocate_String_vector(&v);
  EXPECT_EQ(zoo_delete(h, "/app", -1), ZNOTEMPTY);
  EXPECT_EQ(zoo_delete(h, "/app/job-0000000000", 3), ZBADVERSION);
  EXPECT_EQ(zoo_delete(h, "/app/job-0000000000", 0), ZOK);
  EXPECT_EQ(zoo_exists(h, "/app/job-0000000000", 0, nullptr), ZNONODE);
  // Containers and TTL nodes.
  EXPECT_EQ(zoo_create(h, "/box", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_CONTAINER, nullptr, 0), ZOK);
  EXPECT_EQ(zoo_create_ttl(h, "/ttl", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 60000, nullptr, 0), ZOK);
  EXPECT_EQ(zoo_create_ttl(h, "/ttl2", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 0, nullptr, 0),
            ZBADARGUMENTS);
  // Reconfiguration answers as a ZooKeeper with reconfig disabled.
  char buf[256];
  int len = sizeof buf;
  EXPECT_EQ(zoo_reconfig(h, "server.9=127.0.0.1:1:2", nullptr, nullptr, -1, buf, &len, nullptr), ZRECONFIGDISABLED);
}

TEST_F(zk_client_test, watches_fire_once_with_the_event_and_path_only) {
  zk_client c(hosts());
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  zk_client writer(hosts());
  ASSERT_TRUE(writer.wait_state(ZOO_CONNECTED_STATE));
  auto* h = c.h();
  ASSERT_EQ(zoo_create(h, "/w", "a", 1, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  char buf[16];
  int len = sizeof buf;
  Stat st{};
  ASSERT_EQ(zoo_get(h, "/w", 1, buf, &len, &st), ZOK); // data watch
  ASSERT_EQ(zoo_exists(h, "/w/new", 1, &st), ZNONODE); // exists watch on a missing node
  String_vector v{};
  ASSERT_EQ(zoo_get_children(h, "/w", 1, &v), ZOK); // child watch
  deallocate_String_vector(&v);
  // Creating /w/new fires the exists watch and the child watch, not /w's data watch.
  ASSERT_EQ(zoo_create(writer.h(), "/w/new", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  EXPECT_TRUE(c.wait_node_event(ZOO_CREATED_EVENT, "/w/new"));
  EXPECT_TRUE(c.wait_node_event(ZOO_CHILD_EVENT, "/w"));
  EXPECT_FALSE(c.wait_node_event(ZOO_CHANGED_EVENT, "/w", 300ms));
  ASSERT_EQ(zoo_set(writer.h(), "/w", "b", 1, -1), ZOK);
  EXPECT_TRUE(c.wait_node_event(ZOO_CHANGED_EVENT, "/w"));
  // One-shot: every watch fired once and is gone from the server; a second change fires nothing.
  EXPECT_EQ(server_watches(), 0);
  ASSERT_EQ(zoo_set(writer.h(), "/w", "c", 1, -1), ZOK);
  ASSERT_EQ(zoo_delete(writer.h(), "/w/new", -1), ZOK);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c.node_events(), 0u);
  // A watch set by exists on an existing node fires NodeDeleted.
  ASSERT_EQ(zoo_exists(h, "/w", 1, &st), ZOK);
  ASSERT_EQ(zoo_delete(writer.h(), "/w", -1), ZOK);
  EXPECT_TRUE(c.wait_node_event(ZOO_DELETED_EVENT, "/w"));
}

TEST_F(zk_client_test, removing_watches_on_the_server) {
  zk_client c(hosts());
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  auto* h = c.h();
  ASSERT_EQ(zoo_create(h, "/rw", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  EXPECT_EQ(zoo_remove_all_watches(h, "/rw", ZWATCHTYPE_ANY, 0), ZNOWATCHER);
  Stat st{};
  ASSERT_EQ(zoo_exists(h, "/rw", 1, &st), ZOK);
  String_vector v{};
  ASSERT_EQ(zoo_get_children(h, "/rw", 1, &v), ZOK);
  deallocate_String_vector(&v);
  EXPECT_EQ(server_watches(), 2);
  // Removing the data watch leaves the child watch armed on the server.
  EXPECT_EQ(zoo_remove_all_watches(h, "/rw", ZWATCHTYPE_DATA, 0), ZOK);
  EXPECT_EQ(server_watches(), 1);
  ASSERT_EQ(zoo_set(h, "/rw", "x", 1, -1), ZOK);
  EXPECT_FALSE(c.wait_node_event(ZOO_CHANGED_EVENT, "/rw", 300ms));
  EXPECT_EQ(zoo_remove_all_watches(h, "/rw", ZWATCHTYPE_ANY, 0), ZOK);
  EXPECT_EQ(server_watches(), 0);
}

TEST_F(zk_client_test, acls_with_digest_auth) {
  zk_client owner(hosts());
  ASSERT_TRUE(owner.wait_state(ZOO_CONNECTED_STATE));
  zk_client other(hosts());
  ASSERT_TRUE(other.wait_state(ZOO_CONNECTED_STATE));
  ASSERT_EQ(zoo_add_auth(owner.h(), "digest", "alice:secret", 12, nullptr, nullptr), ZOK);
  // CREATOR_ALL_ACL becomes digest:alice:<hash> for the creator.
  ASSERT_EQ(zoo_create(owner.h(), "/private", "s", 1, &ZOO_CREATOR_ALL_ACL, 0, nullptr, 0), ZOK);
  EXPECT_EQ(get(owner.h(), "/private"), "s");
  int rc = 0;
  get(other.h(), "/private", nullptr, &rc);
  EXPECT_EQ(rc, ZNOAUTH);
  EXPECT_EQ(zoo_set(other.h(), "/private", "x", 1, -1), ZNOAUTH);
  ACL_vector acl{};
  Stat st{};
  ASSERT_EQ(zoo_get_acl(owner.h(), "/private", &acl, &st), ZOK);
  ASSERT_EQ(acl.count, 1);
  EXPECT_STREQ(acl.data[0].id.scheme, "digest");
  EXPECT_EQ(std::string(acl.data[0].id.id).rfind("alice:", 0), 0u);
  EXPECT_EQ(acl.data[0].perms, ZOO_PERM_ALL);
  deallocate_ACL_vector(&acl);
  // An ACL on a node is not inherited by its children; create is checked on the parent.
  EXPECT_EQ(zoo_create(other.h(), "/private/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZNOAUTH);
  // The same credentials on another session open it.
  ASSERT_EQ(zoo_add_auth(other.h(), "digest", "alice:secret", 12, nullptr, nullptr), ZOK);
  rc = 0;
  EXPECT_EQ(get(other.h(), "/private", nullptr, &rc), "s");
  EXPECT_EQ(rc, ZOK);
  // setACL with a version; aversion moves.
  ASSERT_EQ(zoo_set_acl(owner.h(), "/private", 5, &ZOO_READ_ACL_UNSAFE), ZBADVERSION);
  ASSERT_EQ(zoo_set_acl(owner.h(), "/private", 0, &ZOO_READ_ACL_UNSAFE), ZOK);
  ASSERT_EQ(zoo_exists(owner.h(), "/private", 0, &st), ZOK);
  EXPECT_EQ(st.aversion, 1);
  // An invalid ACL (auth scheme with no authenticated identity) is refused.
  zk_client anon(hosts());
  ASSERT_TRUE(anon.wait_state(ZOO_CONNECTED_STATE));
  EXPECT_EQ(zoo_create(anon.h(), "/mine", "", 0, &ZOO_CREATOR_ALL_ACL, 0, nullptr, 0), ZINVALIDACL);
}

TEST_F(zk_client_test, an_unknown_auth_scheme_fails_the_session) {
  zk_client c(hosts());
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  zoo_add_auth(c.h(), "kerberos-ish", "x", 1, nullptr, nullptr);
  EXPECT_TRUE(c.wait_state(ZOO_AUTH_FAILED_STATE));
}

TEST_F(zk_client_test, multi_commits_all_or_nothing_with_per_op_results) {
  zk_client c(hosts());
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  auto* h = c.h();
  ASSERT_EQ(zoo_create(h, "/m", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  char p1[64], p2[64];
  zoo_op_t ops[3];
  zoo_op_result_t results[3];
  zoo_create_op_init(&ops[0], "/m/a", "1", 1, &ZOO_OPEN_ACL_UNSAFE, 0, p1, sizeof p1);
  zoo_set_op_init(&ops[1], "/m", "changed", 7, 0, nullptr);
  zoo_delete_op_init(&ops[2], "/m/missing", -1);
  EXPECT_EQ(zoo_multi(h, 3, ops, results), ZNONODE);
  EXPECT_EQ(results[0].err, ZOK);
  EXPECT_EQ(results[1].err, ZOK);
  EXPECT_EQ(results[2].err, ZNONODE);
  EXPECT_EQ(zoo_exists(h, "/m/a", 0, nullptr), ZNONODE); // nothing applied
  EXPECT_EQ(get(h, "/m"), "");
  Stat st{};
  zoo_create_op_init(&ops[0], "/m/a", "1", 1, &ZOO_OPEN_ACL_UNSAFE, 0, p1, sizeof p1);
  zoo_create_op_init(&ops[1], "/m/s-", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, p2, sizeof p2);
  zoo_set_op_init(&ops[2], "/m", "changed", 7, 0, &st);
  ASSERT_EQ(zoo_multi(h, 3, ops, results), ZOK);
  EXPECT_STREQ(p1, "/m/a");
  EXPECT_STREQ(p2, "/m/s-0000000001");
  EXPECT_EQ(st.version, 1);
  EXPECT_EQ(get(h, "/m"), "changed");
  zoo_op_t check;
  zoo_check_op_init(&check, "/m", 7);
  zoo_op_result_t check_result;
  EXPECT_EQ(zoo_multi(h, 1, &check, &check_result), ZBADVERSION);
}

TEST_F(zk_client_test, ephemerals_go_when_the_session_closes_or_expires) {
  zk_client watcher(hosts());
  ASSERT_TRUE(watcher.wait_state(ZOO_CONNECTED_STATE));
  {
    zk_client owner(hosts());
    ASSERT_TRUE(owner.wait_state(ZOO_CONNECTED_STATE));
    ASSERT_EQ(zoo_create(owner.h(), "/eph", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, nullptr, 0), ZOK);
    Stat st{};
    ASSERT_EQ(zoo_exists(watcher.h(), "/eph", 1, &st), ZOK);
    EXPECT_EQ(st.ephemeralOwner, zoo_client_id(owner.h())->client_id);
    EXPECT_EQ(zoo_create(owner.h(), "/eph/child", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0),
              ZNOCHILDRENFOREPHEMERALS);
  } // zookeeper_close: closeSession
  EXPECT_TRUE(watcher.wait_node_event(ZOO_DELETED_EVENT, "/eph"));
}

TEST_F(zk_client_test, ephemerals_go_when_the_session_expires) {
  // The owner is a child process killed with SIGKILL: its session ends by expiry, not by a close.
  // Forked before this process starts any client thread.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    zk_client owner(hosts(), 1000);
    if (!owner.wait_state(ZOO_CONNECTED_STATE) ||
        zoo_create(owner.h(), "/eph2", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, nullptr, 0) != ZOK)
      ::_exit(1);
    clientid_t id = *zoo_client_id(owner.h());
    if (::write(fds[1], &id, sizeof id) != sizeof id)
      ::_exit(1);
    for (;;)
      ::pause();
  }
  ::close(fds[1]);
  clientid_t id{};
  ASSERT_EQ(::read(fds[0], &id, sizeof id), static_cast<ssize_t>(sizeof id));
  ::close(fds[0]);
  zk_client watcher(hosts());
  ASSERT_TRUE(watcher.wait_state(ZOO_CONNECTED_STATE));
  Stat st{};
  ASSERT_EQ(zoo_exists(watcher.h(), "/eph2", 1, &st), ZOK);
  EXPECT_EQ(st.ephemeralOwner, id.client_id);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(watcher.wait_node_event(ZOO_DELETED_EVENT, "/eph2", 10s));
  // Resuming the expired session: the client is told it expired.
  zk_client resumed(hosts(), 1000, &id);
  EXPECT_TRUE(resumed.wait_state(ZOO_EXPIRED_SESSION_STATE));
}

TEST_F(zk_client_test, a_session_resumes_on_another_connection) {
  // The first client reaches the server through a proxy that then goes away, so that it cannot
  // take the session back while the second one holds it.
  auto proxy = std::make_unique<corral::test::tcp_proxy>(static_cast<uint16_t>(server.zk_port()));
  zk_client first(proxy->address());
  ASSERT_TRUE(first.wait_state(ZOO_CONNECTED_STATE));
  ASSERT_EQ(zoo_create(first.h(), "/mine", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, nullptr, 0), ZOK);
  clientid_t id = *zoo_client_id(first.h());
  proxy.reset();
  zk_client second(hosts(), 10000, &id);
  ASSERT_TRUE(second.wait_state(ZOO_CONNECTED_STATE));
  EXPECT_EQ(zoo_client_id(second.h())->client_id, id.client_id);
  Stat st{};
  ASSERT_EQ(zoo_exists(second.h(), "/mine", 0, &st), ZOK);
  EXPECT_EQ(st.ephemeralOwner, id.client_id);
  // A wrong password is an expired session to the client.
  clientid_t forged = id;
  forged.passwd[0] ^= 1;
  zk_client impostor(hosts(), 10000, &forged);
  EXPECT_TRUE(impostor.wait_state(ZOO_EXPIRED_SESSION_STATE));
}

TEST_F(zk_client_test, sync_completes_with_its_path) {
  zk_client c(hosts());
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  std::mutex mu;
  std::condition_variable cv;
  int result = 1;
  std::string synced;
  struct ctx_t {
    std::mutex* mu;
    std::condition_variable* cv;
    int* result;
    std::string* path;
  } ctx{&mu, &cv, &result, &synced};
  auto done = [](int rc, const char* value, const void* data) {
    auto* x = static_cast<const ctx_t*>(data);
    std::lock_guard<std::mutex> lock(*x->mu);
    *x->result = rc;
    *x->path = value != nullptr ? value : "";
    x->cv->notify_all();
  };
  ASSERT_EQ(zoo_async(c.h(), "/", done, &ctx), ZOK);
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return result != 1; }));
  EXPECT_EQ(result, ZOK);
  EXPECT_EQ(synced, "/");
}

TEST_F(zk_client_test, oversize_and_garbage_close_only_that_connection) {
  zk_client c(hosts());
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  ASSERT_EQ(zoo_create(c.h(), "/big", "small", 5, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  // Data that fits in a packet is accepted.
  std::string fits(1000 * 1000, 'f');
  EXPECT_EQ(zoo_set(c.h(), "/big", fits.data(), static_cast<int>(fits.size()), -1), ZOK);
  // A packet above jute.maxbuffer closes the connection; the node is unchanged; the client reconnects.
  std::string huge(1100 * 1000, 'h');
  int rc = zoo_set(c.h(), "/big", huge.data(), static_cast<int>(huge.size()), -1);
  EXPECT_NE(rc, ZOK);
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  EXPECT_EQ(get(c.h(), "/big").size(), fits.size());
  // Garbage on a fresh connection: closed with a reason in the log; others keep working.
  int fd = corral::test::connect_to(static_cast<uint16_t>(server.zk_port()));
  const char junk[] = "\x00\x00\x00\x08garbage!\x00\x00\x00\x02zz";
  ASSERT_GT(::write(fd, junk, sizeof junk - 1), 0);
  char b[16];
  EXPECT_EQ(::read(fd, b, sizeof b), 0); // closed by the server
  ::close(fd);
  EXPECT_EQ(zoo_set(c.h(), "/big", "ok", 2, -1), ZOK);
  EXPECT_NE(server.log().find("ConnectRequest"), std::string::npos);
}

TEST_F(zk_client_test, watches_are_rearmed_after_a_reconnect) {
  // The client reaches the server through a proxy that drops its connection; on reconnecting it
  // sends setWatches with the last zxid it saw, and a change made meanwhile fires at once.
  corral::test::tcp_proxy proxy(static_cast<uint16_t>(server.zk_port()));
  zk_client c(proxy.address());
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  zk_client writer(hosts());
  ASSERT_TRUE(writer.wait_state(ZOO_CONNECTED_STATE));
  ASSERT_EQ(zoo_create(writer.h(), "/rearm", "a", 1, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  ASSERT_EQ(zoo_create(writer.h(), "/kept", "a", 1, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  Stat st{};
  ASSERT_EQ(zoo_exists(c.h(), "/rearm", 1, &st), ZOK);
  ASSERT_EQ(zoo_exists(c.h(), "/kept", 1, &st), ZOK);
  proxy.cut();
  ASSERT_EQ(zoo_set(writer.h(), "/rearm", "b", 1, -1), ZOK); // while c is away
  EXPECT_TRUE(c.wait_node_event(ZOO_CHANGED_EVENT, "/rearm", 10s));
  // The other watch was re-armed, not fired, and still works.
  EXPECT_FALSE(c.wait_node_event(ZOO_CHANGED_EVENT, "/kept", 200ms));
  ASSERT_EQ(zoo_set(writer.h(), "/kept", "b", 1, -1), ZOK);
  EXPECT_TRUE(c.wait_node_event(ZOO_CHANGED_EVENT, "/kept"));
}

TEST_F(zk_client_test, a_client_ahead_of_the_server_is_refused_without_a_word) {
  int fd = corral::test::connect_to(static_cast<uint16_t>(server.zk_port()));
  corral::protocol::connect_request req;
  req.last_zxid_seen = int64_t{1} << 40; // a zxid this server has not reached
  req.timeout_ms = 10000;
  req.password = std::string(16, '\0');
  std::vector<char> out;
  corral::protocol::jute::encode_connect_request(req, true, out);
  ASSERT_EQ(::write(fd, out.data(), out.size()), static_cast<ssize_t>(out.size()));
  char b[64];
  EXPECT_EQ(::read(fd, b, sizeof b), 0); // closed, as ZooKeeper does; the client tries another server
  ::close(fd);
  EXPECT_NE(server.log().find("client has seen zxid"), std::string::npos);
}

TEST_F(zk_client_test, random_and_mutated_packets_close_their_connection_and_nothing_else) {
  zk_client c(hosts());
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE));
  ASSERT_EQ(zoo_create(c.h(), "/steady", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  // A valid handshake followed by a request, then mutated at random.
  std::vector<char> valid;
  corral::protocol::connect_request req;
  req.timeout_ms = 10000;
  req.password = std::string(16, '\0');
  corral::protocol::jute::encode_connect_request(req, true, valid);
  corral::protocol::jute::encode_request(
      {1, corral::create_request{"/f", "d", {{31, "world", "anyone"}}, corral::create_mode::persistent, -1}},
      {corral::op_code::create, {}}, valid);
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::vector<char> bytes = valid;
    if (i % 3 == 0) {
      bytes.resize(rng() % 96);
      for (auto& ch : bytes)
        ch = static_cast<char>(rng());
    } else {
      for (int k = 0; k < 3; ++k)
        bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    int fd = corral::test::connect_to(static_cast<uint16_t>(server.zk_port()));
    timeval limit{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    (void)::write(fd, bytes.data(), bytes.size());
    ::shutdown(fd, SHUT_WR);
    char b[4096];
    while (::read(fd, b, sizeof b) > 0) {
    }
    ::close(fd);
  }
  // Every other session carries on.
  EXPECT_EQ(zoo_set(c.h(), "/steady", "still", 5, -1), ZOK);
  EXPECT_EQ(get(c.h(), "/steady"), "still");
}

TEST(zk_client_ensemble, the_c_client_fails_over_and_keeps_its_session) {
  corral::test::local_ensemble e(3);
  zk_client c(e.zk_connect_string(), 6000);
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE, 20s));
  // srvr tells each server's role, as zkServer.sh status reads it: one leader, two followers (once
  // the last follower has synced: the client may be connected before that).
  int leaders = 0, followers = 0;
  corral::test::eventually([&] {
    leaders = followers = 0;
    for (auto& s : e.servers) {
      auto text = corral::test::four_letter_word(static_cast<uint16_t>(s->zk_port()), "srvr");
      leaders += text.find("Mode: leader\n") != std::string::npos ? 1 : 0;
      followers += text.find("Mode: follower\n") != std::string::npos ? 1 : 0;
    }
    return leaders == 1 && followers == 2;
  });
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(followers, 2);
  ASSERT_EQ(zoo_create(c.h(), "/member", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, nullptr, 0), ZOK);
  ASSERT_EQ(zoo_create(c.h(), "/nodata", nullptr, -1, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK); // null data
  auto session = zoo_client_id(c.h())->client_id;
  // Kill the server this client is connected to.
  sockaddr_storage where{};
  socklen_t len = sizeof where;
  ASSERT_NE(zookeeper_get_connected_host(c.h(), reinterpret_cast<sockaddr*>(&where), &len), nullptr);
  auto port = ntohs(reinterpret_cast<sockaddr_in*>(&where)->sin_port);
  bool killed = false;
  for (auto& s : e.servers)
    if (s->zk_port() == port) {
      s->kill9();
      killed = true;
    }
  ASSERT_TRUE(killed);
  ASSERT_TRUE(c.wait_state(ZOO_CONNECTED_STATE, 20s));
  EXPECT_EQ(zoo_client_id(c.h())->client_id, session);
  // Writes go through (after a new leader, if the old one died), and the ephemeral is still there.
  EXPECT_TRUE(corral::test::eventually(
      [&] { return zoo_create(c.h(), "/after", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0) == ZOK; }, 20s));
  Stat st{};
  ASSERT_EQ(zoo_exists(c.h(), "/member", 0, &st), ZOK);
  EXPECT_EQ(st.ephemeralOwner, session);
  // Null data came through replication as null (the C client reports it as length -1), and empty
  // data as empty, on the server the client moved to.
  char buf[8];
  int n = sizeof buf;
  ASSERT_EQ(zoo_get(c.h(), "/nodata", 0, buf, &n, &st), ZOK);
  EXPECT_EQ(n, -1);
  n = sizeof buf;
  ASSERT_EQ(zoo_get(c.h(), "/after", 0, buf, &n, &st), ZOK);
  EXPECT_EQ(n, 0);
}

TEST_F(zk_client_test, kazoo_recipes_work) {
  // Python's ZooKeeper client (Debian's python3-kazoo) and its recipes: locks, elections, counters,
  // watches, transactions. The script asserts each step and prints ALL OK at the end.
  auto r = corral::test::run_tool("/usr/bin/python3", {KAZOO_SCRIPT, hosts()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok: the lock passes to the waiting contender"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok: the next candidate leads when the leader leaves"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ALL OK 20 checks"), std::string::npos) << r.out << r.err;
}
