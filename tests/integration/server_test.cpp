// A real corral-server process on 127.0.0.1 with several client sessions: operations over the wire,
// watch ordering, ephemerals on close and expiry, resume on a new connection, reconnects through a
// severed proxy, malformed frames, restart.
#include <gtest/gtest.h>

#include "actors/client/blocking_client.hpp"
#include "actors/client/session.hpp"
#include <boost/filesystem.hpp>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include <sys/resource.h>

#include "persistence/log.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

TEST(server, operations_over_the_wire) {
  server_process srv;
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  auto created = c.create("/app", "v1");
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_EQ(created->path, "/app");
  EXPECT_EQ(c.create("/app", "again").code(), error_code::node_exists);
  auto seq = c.create("/app/job-", "", create_mode::persistent_sequential);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(seq->path, "/app/job-0000000000");
  auto got = c.get("/app");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "v1");
  EXPECT_EQ(got->stat.num_children, 1);
  EXPECT_EQ(c.set("/app", "v2", 5).code(), error_code::bad_version);
  auto st = c.set("/app", "v2", 0);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->version, 1);
  EXPECT_EQ(c.remove("/app").code(), error_code::not_empty);
  auto kids = c.children("/app");
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(kids->children, std::vector<std::string>{"job-0000000000"});
  auto m = c.multi({delete_request{"/app/job-0000000000", -1}, delete_request{"/app", 1}});
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(c.exists("/app").ok());
  EXPECT_EQ(c.create("/big", std::string(1024 * 1024 + 1, 'x')).code(), error_code::bad_arguments);
  EXPECT_EQ(c.get("no-slash").code(), error_code::bad_arguments);
}

TEST(server, acl_with_digest_auth_across_sessions) {
  server_process srv;
  client::blocking_client alice(client_at(srv.address())), eve(client_at(srv.address()));
  ASSERT_TRUE(alice.add_auth("digest", "alice:pw").ok());
  ASSERT_TRUE(alice.create("/secret", "s", create_mode::persistent, creator_all_acl()).ok());
  EXPECT_EQ(eve.get("/secret").code(), error_code::no_auth);
  EXPECT_EQ(eve.set("/secret", "x").code(), error_code::no_auth);
  ASSERT_TRUE(eve.add_auth("digest", "alice:pw").ok());
  EXPECT_TRUE(eve.get("/secret").ok());
  EXPECT_EQ(eve.add_auth("nope", "x").code(), error_code::auth_failed);
}

TEST(server, watch_event_comes_before_the_response_that_reflects_it) {
  server_process srv;
  raw_client a(srv.port());
  a.handshake();
  ASSERT_EQ(a.call(create_request{"/w", "0", open_acl_unsafe(), create_mode::persistent, -1}).err, error_code::ok);
  ASSERT_EQ(a.call(get_data_request{"/w", true}).err, error_code::ok);
  // Pipeline the write and a read; the event must come first on the wire.
  a.send(protocol::client_message{request{100, set_data_request{"/w", "1", -1}}});
  a.send(protocol::client_message{request{101, get_data_request{"/w", false}}});
  auto first = a.recv();
  auto second = a.recv();
  auto third = a.recv();
  ASSERT_TRUE(first && second && third);
  ASSERT_TRUE(std::holds_alternative<watch_event>(*first));
  EXPECT_EQ(std::get<watch_event>(*first).type, event_type::node_data_changed);
  EXPECT_EQ(std::get<response>(*second).xid, 100);
  EXPECT_EQ(std::get<response>(*third).xid, 101);
  EXPECT_EQ(std::get<data_result>(std::get<response>(*third).body).data, "1");
}

// Sessions answer reads themselves, in parallel with the state machine applying writes
// (actors/server/shared_reads.hpp). A reader keeps a watch on a node another session keeps changing:
// whenever a read shows a newer version than the one its watch was set at, the event must already
// have arrived. Thousands of rounds on real threads; the deterministic case is in
// state_machine_actor_test.
TEST(server, a_read_never_shows_a_change_before_its_watch_event_while_writes_run_in_parallel) {
  server_process srv;
  raw_client setup(srv.port());
  setup.handshake();
  ASSERT_EQ(setup.call(create_request{"/hot", "0", open_acl_unsafe(), create_mode::persistent, -1}).err,
            error_code::ok);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    raw_client w(srv.port());
    w.handshake();
    for (int i = 0; i < 3000; ++i)
      w.call(set_data_request{"/hot", std::to_string(i), -1});
    done = true;
  });
  raw_client r(srv.port());
  r.handshake();
  int32_t armed_at = -1; // the version the watch was set at; -1: no watch armed
  int events = 0, reads = 0, violations = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    std::vector<watch_event> before;
    auto resp = r.call(get_data_request{"/hot", true}, &before);
    ASSERT_EQ(resp.err, error_code::ok);
    ++reads;
    if (!before.empty()) {
      events += static_cast<int>(before.size());
      armed_at = -1; // it fired: this read set a new one
    }
    auto version = std::get<data_result>(resp.body).stat.version;
    if (armed_at >= 0 && version > armed_at)
      ++violations; // the data changed since the watch was set, and no event came first
    armed_at = version;
  }
  writer.join();
  EXPECT_EQ(violations, 0) << "reads that showed a change before its event, of " << reads;
  EXPECT_GT(events, 10) << "the reads and the writes did not overlap: the test showed nothing";
}

TEST(server, watches_fire_once_across_sessions_and_events_carry_no_data) {
  server_process srv;
  client::blocking_client w(client_at(srv.address())), writer(client_at(srv.address()));
  ASSERT_TRUE(writer.create("/cfg", "a").ok());
  ASSERT_TRUE(w.get("/cfg", true).ok());
  ASSERT_TRUE(w.children("/cfg", true).ok());
  ASSERT_TRUE(writer.set("/cfg", "b").ok());
  ASSERT_TRUE(writer.set("/cfg", "c").ok());
  ASSERT_TRUE(writer.create("/cfg/x", "").ok());
  auto e1 = w.next_event(5s);
  auto e2 = w.next_event(5s);
  ASSERT_TRUE(e1 && e2);
  EXPECT_EQ(e1->type, event_type::node_data_changed);
  EXPECT_EQ(e1->path, "/cfg");
  EXPECT_EQ(e2->type, event_type::node_children_changed);
  EXPECT_FALSE(w.next_event(300ms)) << "one-shot watches fire once";
}

TEST(server, closing_a_session_deletes_its_ephemerals_and_fires_watches) {
  server_process srv;
  client::blocking_client watcher(client_at(srv.address()));
  {
    client::blocking_client owner(client_at(srv.address()));
    ASSERT_TRUE(owner.create("/lock", "", create_mode::ephemeral).ok());
    ASSERT_EQ(owner.create("/lock/child", "").code(), error_code::no_children_for_ephemerals);
    ASSERT_TRUE(watcher.exists("/lock", true).ok());
    owner.close();
    EXPECT_EQ(owner.get("/lock").code(), error_code::session_expired);
  }
  auto e = watcher.next_event(5s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, event_type::node_deleted);
  EXPECT_EQ(watcher.exists("/lock").code(), error_code::no_node);
}

TEST(server, a_silent_session_expires_and_its_ephemerals_go) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int32_t timeout_ms = 1500; // Debug + ASan may take longer than 400 ms for the first create
#else
  constexpr int32_t timeout_ms = 400;
#endif
  server_process srv;
  client::blocking_client watcher(client_at(srv.address()));
  raw_client quiet(srv.port());
  auto hello = quiet.handshake(0, "", timeout_ms); // no pings from here on
  EXPECT_EQ(hello.timeout_ms, timeout_ms);
  ASSERT_EQ(quiet.call(create_request{"/e", "", open_acl_unsafe(), create_mode::ephemeral, -1}).err, error_code::ok);
  ASSERT_TRUE(watcher.exists("/e", true).ok());
  auto e = watcher.next_event(5s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, event_type::node_deleted);
  // The expired client hears it, and its connection closes.
  bool told = false;
  while (auto m = quiet.recv(2000))
    if (auto* ev = std::get_if<watch_event>(&*m); ev && ev->state == keeper_state::expired)
      told = true;
  EXPECT_TRUE(told);
  raw_client again(srv.port());
  auto resumed = again.handshake(hello.session, hello.password);
  EXPECT_EQ(resumed.err, error_code::session_expired);
  EXPECT_NE(srv.log().find("expired"), std::string::npos);
}

TEST(server, a_session_resumes_on_a_new_connection_with_its_password) {
  server_process srv;
  protocol::connect_response hello;
  {
    raw_client first(srv.port());
    hello = first.handshake(0, "", 4000);
    ASSERT_EQ(first.call(create_request{"/mine", "", open_acl_unsafe(), create_mode::ephemeral, -1}).err,
              error_code::ok);
  } // connection dropped without closing the session
  raw_client wrong(srv.port());
  EXPECT_EQ(wrong.handshake(hello.session, "not-the-password").err, error_code::session_expired);
  raw_client second(srv.port());
  auto resumed = second.handshake(hello.session, hello.password);
  ASSERT_EQ(resumed.err, error_code::ok);
  EXPECT_EQ(resumed.session, hello.session);
  auto eph = second.call(get_ephemerals_request{"/"});
  EXPECT_EQ(std::get<std::vector<std::string>>(eph.body), std::vector<std::string>{"/mine"});
}

TEST(server, the_client_library_reconnects_and_the_server_fires_missed_events) {
  // Declared before the client: its callback runs until the client is gone (found by ASan).
  std::vector<client::connection_state> states;
  std::mutex mtx;
  server_process srv;
  tcp_proxy proxy(srv.port());
  client::blocking_client writer(client_at(srv.address()));
  client::blocking_client c(client_at(proxy.address(), 4000));
  c.on_state([&](client::connection_state s) {
    std::lock_guard<std::mutex> g(mtx);
    states.push_back(s);
  });
  ASSERT_TRUE(c.wait_connected(5s));
  ASSERT_TRUE(writer.create("/node", "0").ok());
  ASSERT_TRUE(c.create("/eph", "", create_mode::ephemeral).ok());
  ASSERT_TRUE(c.get("/node", true).ok());
  proxy.cut();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> g(mtx);
    return std::count(states.begin(), states.end(), client::connection_state::suspended) > 0;
  }));
  ASSERT_TRUE(writer.set("/node", "1").ok()); // while c is away
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> g(mtx);
    return std::count(states.begin(), states.end(), client::connection_state::reconnected) > 0;
  }));
  auto e = c.next_event(5s);
  ASSERT_TRUE(e) << "the re-armed watch fires for the change made while disconnected";
  EXPECT_EQ(e->type, event_type::node_data_changed);
  EXPECT_TRUE(writer.exists("/eph").ok()) << "the session, and its ephemeral, survived";
  EXPECT_TRUE(c.get("/node").ok());
}

TEST(server, malformed_frames_close_only_that_connection) {
  server_process srv;
  client::blocking_client good(client_at(srv.address()));
  ASSERT_TRUE(good.create("/ok", "").ok());
  raw_client bad(srv.port());
  bad.send_bytes(std::string("\xff\xff\xff\x7f garbage garbage garbage")); // (a length of 32 read past it: ASan)
  EXPECT_TRUE(bad.closed_by_server());
  raw_client early(srv.port());
  early.send(protocol::client_message{request{1, get_data_request{"/ok", false}}}); // no Connect first
  EXPECT_TRUE(early.closed_by_server());
  raw_client huge(srv.port());
  huge.handshake();
  huge.send(protocol::client_message{request{1, set_data_request{"/ok", std::string(2 << 20, 'x'), -1}}});
  EXPECT_TRUE(huge.closed_by_server());
  EXPECT_TRUE(good.get("/ok").ok());
  EXPECT_TRUE(good.set("/ok", "still here").ok());
  auto log = srv.log();
  EXPECT_NE(log.find("closing connection"), std::string::npos);
  EXPECT_NE(log.find("the first frame must be Connect"), std::string::npos);
}

TEST(server, a_restart_keeps_sessions_their_ephemerals_and_every_acknowledged_write) {
  server_process srv;
  client::blocking_client c(client_at(srv.address(), 6000));
  ASSERT_TRUE(c.wait_connected(5s));
  std::atomic<bool> reconnected{false};
  c.on_state([&](client::connection_state s) {
    if (s == client::connection_state::reconnected)
      reconnected = true;
  });
  ASSERT_TRUE(c.create("/eph", "", create_mode::ephemeral).ok());
  ASSERT_TRUE(c.create("/p", "v0").ok());
  for (int i = 1; i <= 20; ++i)
    ASSERT_TRUE(c.set("/p", "v" + std::to_string(i)).ok());
  srv.restart(); // kill -9, then start on the same port and data dir
  EXPECT_TRUE(eventually([&] { return reconnected.load(); }));
  auto got = c.get("/p");
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->data, "v20");
  EXPECT_EQ(got->stat.version, 20);
  EXPECT_TRUE(c.exists("/eph").ok()) << "the session survived the restart";
  EXPECT_NE(srv.log().find("recovered"), std::string::npos);
}

TEST(server, after_a_restart_the_ephemerals_of_a_client_that_never_returns_expire) {
  server_process srv;
  {
    raw_client quiet(srv.port());
    quiet.handshake(0, "", 600);
    ASSERT_EQ(quiet.call(create_request{"/gone-soon", "", open_acl_unsafe(), create_mode::ephemeral, -1}).err,
              error_code::ok);
    srv.restart();
  }
  client::blocking_client watcher(client_at(srv.address()));
  ASSERT_TRUE(watcher.wait_connected(5s));
  EXPECT_TRUE(eventually([&] { return watcher.exists("/gone-soon").code() == error_code::no_node; }));
}

TEST(server, a_full_disk_rejects_writes_harms_nothing_and_recovers_when_space_returns) {
  server_process srv({"--corral.log-prealloc-bytes=65536"});
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.create("/before", "safe").ok());
  auto segments = persistence::list_segments(srv.dir() + "/data");
  ASSERT_EQ(segments.size(), 1u);
  srv.limit_file_size(boost::filesystem::file_size(segments[0].path)); // no room to grow
  std::string big(30000, 'x');
  int rejected = 0;
  for (int i = 0; i < 10 && rejected == 0; ++i) {
    auto r = c.create("/fill-" + std::to_string(i), big);
    if (!r.ok()) {
      EXPECT_EQ(r.code(), error_code::system_error);
      EXPECT_NE(r.error().detail.find("not saved"), std::string::npos) << r.error().detail;
      EXPECT_EQ(c.exists("/fill-" + std::to_string(i)).code(), error_code::no_node)
          << "a rejected write changed nothing";
      ++rejected;
    }
  }
  ASSERT_EQ(rejected, 1) << "the file-size limit never bit";
  auto got = c.get("/before");
  ASSERT_TRUE(got.ok()) << "reads go on";
  EXPECT_EQ(got->data, "safe");
  srv.limit_file_size(RLIM_INFINITY); // space returns
  ASSERT_TRUE(c.create("/after", "ok").ok());
  EXPECT_NE(srv.log().find("cannot write the log"), std::string::npos);
  srv.restart();
  client::blocking_client again(client_at(srv.address()));
  EXPECT_TRUE(again.exists("/before").ok());
  EXPECT_TRUE(again.exists("/after").ok());
}

TEST(server, a_client_that_pipelines_without_reading_is_throttled_not_harmful) {
  server_process srv;
  client::blocking_client other(client_at(srv.address()));
  ASSERT_TRUE(other.create("/flood", "x").ok());
  raw_client flood(srv.port());
  flood.handshake();
  constexpr int n = 5000; // five times the per-connection limit of unanswered requests
  std::string burst;
  for (int i = 1; i <= n; ++i) {
    std::vector<char> bytes;
    protocol::encode(protocol::client_message{request{i, get_data_request{"/flood", false}}}, bytes);
    burst.append(bytes.begin(), bytes.end());
  }
  std::thread sender([&] { flood.send_bytes(burst); }); // blocks while the server stops reading
  std::this_thread::sleep_for(300ms);
  // Meanwhile everyone else is served.
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(other.set("/flood", "y" + std::to_string(i)).ok());
  // Reading drains it: every request is answered, in order.
  for (int i = 1; i <= n; ++i) {
    auto m = flood.recv(10000);
    ASSERT_TRUE(m.has_value()) << "response " << i << " never came";
    ASSERT_EQ(std::get<response>(*m).xid, i);
  }
  sender.join();
}

// Its reading pauses (4 MiB waiting by default), but the answers already asked for still pile up:
// 8 of 1 MiB here, over a 6 MiB limit. (tests/integration/limits_test.cpp: pausing.)
TEST(server, a_client_that_never_reads_large_answers_is_dropped) {
  server_process srv({"--corral.client-max-unsent-bytes=6291456"});
  client::blocking_client other(client_at(srv.address()));
  ASSERT_TRUE(other.create("/big", std::string(1 << 20, 'b')).ok());
  raw_client lazy(srv.port());
  lazy.handshake();
  for (int i = 1; i <= 120; ++i) // 120 MiB of answers, never read
    lazy.send(protocol::client_message{request{i, get_data_request{"/big", false}}});
  EXPECT_TRUE(eventually([&] { return srv.log().find("the client does not read") != std::string::npos; }));
  EXPECT_TRUE(other.get("/big").ok());
}

TEST(server, config_file_in_ini_form_is_read) {
  auto dir = std::string(::testing::TempDir()) + "corral-conf-test";
  boost::filesystem::create_directories(dir);
  auto conf = dir + "/corral.conf";
  std::ofstream(conf) << "[corral]\nmax-data-bytes=10\n";
  server_process srv({"--config-file=" + conf});
  client::blocking_client c(client_at(srv.address()));
  EXPECT_TRUE(c.create("/small", "0123456789").ok());
  EXPECT_EQ(c.create("/large", "0123456789x").code(), error_code::bad_arguments);
  boost::filesystem::remove_all(dir);
}
