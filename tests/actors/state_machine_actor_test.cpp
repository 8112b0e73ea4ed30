// The state machine actor (actors/server/state_machine.cpp) with its session actors, run on CAF's
// deterministic test coordinator: one thread, no sockets, and timers that fire only when a test
// says so. The log writer, the snapshotter, the client listener and the peer transport are fakes
// that record what they are sent; the test plays the disk (it says when appended txns are durable)
// and, in the ensemble case, the two other servers (zab::peer objects driven by hand).
//
// CAF's caf/test/dsl.hpp wraps this coordinator in macros of CAF's own test runner; under
// GoogleTest the coordinator is used directly and the checks are GoogleTest's.
#include <gtest/gtest.h>

#include <caf/scheduler/test_coordinator.hpp>

#include <boost/filesystem.hpp>

#include <thread>

#include "actors/server/actors.hpp"
#include "core/acl.hpp"
#include "core/fatal.hpp"
#include "core/overload.hpp"
#include "persistence/epochs.hpp"
#include "protocol/frame.hpp"

using namespace corral;
using namespace corral::server;
using namespace std::chrono_literals;

namespace {

struct coordinator_config : caf::actor_system_config {
  coordinator_config() { set("scheduler.policy", caf::atom("testing")); }
};

// Everything the fakes were sent, in order.
struct recorder {
  // log writer
  std::vector<shared_txn> appended;
  bool auto_durable = false; // answer each append at once (the disk is never the question)
  log_events sm;
  // client listener: each write decoded
  std::vector<std::pair<client_conn, protocol::server_message>> written;
  std::vector<client_conn> closed;
  // transport
  std::vector<zab::message> to_peers;
  std::vector<zab::server_id> dropped_links;
};

log_writer_actor::behavior_type fake_log_writer(log_writer_actor::pointer self, std::shared_ptr<recorder> rec) {
  return {
      [=](atoms::connect, log_events& sm) { rec->sm = sm; },
      [=](atoms::append, std::vector<shared_txn>& ts) {
        for (auto& t : ts) {
          rec->appended.push_back(t);
          if (rec->auto_durable)
            self->send(rec->sm, atoms::durable::value, t->zxid);
        }
      },
      [=](atoms::append, persistence::digest_check&) {},
      [=](atoms::resume) {},
      [=](atoms::purge, zxid_t) {},
      [=](atoms::truncate, zxid_t, zxid_t report) { self->send(rec->sm, atoms::durable::value, report); },
      [=](atoms::stop) { self->quit(); },
  };
}

snapshotter_actor::behavior_type fake_snapshotter() {
  return {
      [](atoms::snapshot, persistence::snapshot_header&) -> caf::result<void> { return caf::unit; },
      [](atoms::chunk, node_chunk& c) -> caf::result<node_chunk> { return c; },
      [](atoms::finish, persistence::snapshot_trailer&) -> caf::result<std::string> { return std::string("snap"); },
      [](atoms::purge, uint64_t) -> std::optional<zxid_t> { return std::nullopt; },
      [](atoms::stats) -> uint64_t { return 0; },
  };
}

listener_actor::behavior_type fake_listener(std::shared_ptr<recorder> rec) {
  return {
      [](atoms::open, std::string&, uint16_t port, bool, bool) -> uint16_t { return port; },
      [=](atoms::write, client_conn& to, std::vector<char>& bytes, int32_t) {
        // One write carries every answer of one of the state machine's turns: each is a frame.
        protocol::frame_reader reader(1 << 20);
        reader.feed(bytes.data(), bytes.size());
        kj::ArrayPtr<const capnp::word> frame;
        ASSERT_EQ(reader.next(frame), protocol::frame_reader::status::frame);
        do {
          auto msg = protocol::decode_server(frame);
          ASSERT_TRUE(msg.ok());
          rec->written.emplace_back(to, std::move(*msg));
        } while (reader.next(frame) == protocol::frame_reader::status::frame);
      },
      [=](atoms::close, client_conn& to) { rec->closed.push_back(to); },
  };
}

transport_actor::behavior_type fake_transport(std::shared_ptr<recorder> rec) {
  return {
      [](atoms::open) -> uint16_t { return 0; },
      [](atoms::connect, std::vector<peer_address>&) {},
      [=](std::vector<zab::message>& ms) {
        for (auto& m : ms)
          rec->to_peers.push_back(std::move(m));
      },
      [](atoms::peer_frame, zab::server_id, protocol::peer_frame&) {},
      [=](atoms::close, zab::server_id id) { rec->dropped_links.push_back(id); },
  };
}

database_options db_options(int64_t server_id = 0) {
  database_options o;
  o.server_id = server_id;
  o.container_check_ms = 0;
  return o;
}

storage_config storage() {
  storage_config s;
  s.dir = "unused";
  s.db_id = 1;
  s.snapshots.every_txns = 1u << 30; // no snapshot during a test
  return s;
}

request create(int32_t xid, const std::string& path) {
  return request{xid, create_request{path, "v", open_acl_unsafe(), create_mode::persistent, -1}};
}
request get(int32_t xid, const std::string& path, bool watch = false) {
  return request{xid, get_data_request{path, watch}};
}
request set(int32_t xid, const std::string& path, const std::string& data) {
  return request{xid, set_data_request{path, data, -1}};
}

// One fixture per test: a standalone state machine, or server 3 of a three-server ensemble.
class state_machine_actor_test : public ::testing::Test {
protected:
  coordinator_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<recorder> rec = std::make_shared<recorder>();
  log_writer_actor log = sys.spawn(fake_log_writer, rec);
  listener_actor listener = sys.spawn(fake_listener, rec);
  state_machine_actor sm;
  std::shared_ptr<shared_reads> reads = std::make_shared<shared_reads>();
  caf::scoped_actor self{sys};
  uint64_t next_serial = 1;

  void start(std::shared_ptr<ensemble_setup> ensemble = nullptr) {
    auto snap = sys.spawn(fake_snapshotter);
    sm = sys.spawn(state_machine, std::make_shared<database>(db_options(ensemble ? 3 : 0), wall_now()), storage(), log,
                   snap, ensemble, reads);
    caf::anon_send(log, atoms::connect::value, log_events{sm});
    sched.run();
  }

  // Runs everything that can run; the ensemble fixture also plays the other servers.
  virtual void settle() { sched.run(); }

  // Takes the answer to a request the test made (never blocks: the coordinator has run everything
  // it could, so an answer is in the mailbox or will not come).
  template <class Handle, class F>
  void answer(Handle& rh, F on_value) {
    if (self->mailbox().empty()) {
      ADD_FAILURE() << "no answer";
      return;
    }
    rh.receive(on_value, [](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
  }

  void TearDown() override {
    caf::anon_send_exit(sm, caf::exit_reason::user_shutdown);
    caf::anon_send(log, atoms::stop::value);
    sched.run();
  }

  // Tells the state machine that everything appended so far is on disk.
  void durable() {
    ASSERT_FALSE(rec->appended.empty());
    caf::anon_send(sm, atoms::durable::value, rec->appended.back()->zxid);
    sched.run();
  }

  // Opens a session as the listener does: the Connect, then (once answered) the attach. The
  // session's own txn is made durable here unless the log writer answers by itself.
  std::pair<session_actor, client_conn> open_session() {
    auto rh = self->request(sm, caf::infinite, atoms::open::value, protocol::connect_request{0, 0, 30000, 0, "", false},
                            std::string("127.0.0.1"), std::string());
    settle();
    if (!rec->auto_durable)
      durable();
    protocol::connect_response resp;
    session_actor sess;
    answer(rh, [&](protocol::connect_response& r, session_actor& s) {
      resp = r;
      sess = s;
    });
    EXPECT_EQ(resp.err, error_code::ok) << resp.detail;
    client_conn conn{caf::io::connection_handle::from_int(static_cast<int64_t>(next_serial)), next_serial};
    ++next_serial;
    caf::anon_send(sess, atoms::attach::value, conn, listener, resp, static_cast<int32_t>(wire::native));
    sched.run();
    return {sess, conn};
  }

  // What has been written to `conn` since the last call, in order (connect responses left out).
  std::vector<protocol::server_message> take_written(const client_conn& conn) {
    std::vector<protocol::server_message> out;
    auto& w = rec->written;
    for (auto it = w.begin(); it != w.end();) {
      if (it->first == conn && !std::holds_alternative<protocol::connect_response>(it->second)) {
        out.push_back(std::move(it->second));
        it = w.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
};

const response& as_response(const protocol::server_message& m) {
  CORRAL_CHECK(std::holds_alternative<response>(m), "test", "expected a response");
  return std::get<response>(m);
}

} // namespace

// A session's read behind its own write waits for the write: nothing is answered before the write
// is durable, and then both answers come in request order.
TEST_F(state_machine_actor_test, a_read_waits_behind_its_sessions_write_until_the_write_is_durable) {
  start();
  auto [sess, conn] = open_session();
  caf::anon_send(sess, std::vector<request>{create(1, "/a")});
  caf::anon_send(sess, std::vector<request>{get(2, "/a")});
  sched.run();
  EXPECT_TRUE(take_written(conn).empty()) << "answered before the log said durable";
  ASSERT_EQ(rec->appended.size(), 2u); // the session's creation and the create
  durable();
  auto out = take_written(conn);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(as_response(out[0]).xid, 1);
  EXPECT_EQ(as_response(out[0]).err, error_code::ok);
  EXPECT_EQ(as_response(out[1]).xid, 2);
  EXPECT_EQ(as_response(out[1]).err, error_code::ok);
  EXPECT_EQ(std::get<data_result>(as_response(out[1]).body).data, "v");
}

// Another session's read does not wait for this session's write (and sees the tree before it).
TEST_F(state_machine_actor_test, another_sessions_read_is_not_held_by_a_pending_write) {
  start();
  auto [writer, wconn] = open_session();
  auto [reader, rconn] = open_session();
  caf::anon_send(writer, std::vector<request>{create(1, "/b")});
  caf::anon_send(reader, std::vector<request>{get(7, "/b")});
  sched.run();
  auto out = take_written(rconn);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(as_response(out[0]).err, error_code::no_node); // the create is not applied yet
  EXPECT_TRUE(take_written(wconn).empty());
  durable();
  ASSERT_EQ(take_written(wconn).size(), 1u);
}

// A session that watches a node and then changes it sees the event before the response to its
// change; another watching session gets the event too, and the data is not in the event.
TEST_F(state_machine_actor_test, the_watch_event_reaches_the_session_before_the_response_of_the_change) {
  rec->auto_durable = true;
  start();
  auto [a, aconn] = open_session();
  auto [b, bconn] = open_session();
  caf::anon_send(a, std::vector<request>{create(1, "/w")});
  sched.run();
  ASSERT_EQ(take_written(aconn).size(), 1u);
  caf::anon_send(a, std::vector<request>{get(2, "/w", true)});
  caf::anon_send(b, std::vector<request>{get(1, "/w", true)});
  sched.run();
  ASSERT_EQ(take_written(aconn).size(), 1u);
  ASSERT_EQ(take_written(bconn).size(), 1u);
  caf::anon_send(a, std::vector<request>{set(3, "/w", "new")});
  sched.run();
  auto out = take_written(aconn);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<watch_event>(out[0])) << "the response came before the event";
  EXPECT_EQ(std::get<watch_event>(out[0]).type, event_type::node_data_changed);
  EXPECT_EQ(std::get<watch_event>(out[0]).path, "/w");
  EXPECT_EQ(as_response(out[1]).xid, 3);
  auto other = take_written(bconn);
  ASSERT_EQ(other.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<watch_event>(other[0]));
}

// A read the session answers by itself (beside the state machine) that sees a change whose watch
// event is still on its way to the session waits until the event has arrived: the client sees the
// event first, as ZooKeeper guarantees (shared_reads.hpp).
TEST_F(state_machine_actor_test, a_read_answered_by_the_session_waits_for_the_event_of_the_change_it_sees) {
  start();
  auto [a, aconn] = open_session();
  auto [b, bconn] = open_session();
  caf::anon_send(b, std::vector<request>{create(1, "/w")});
  sched.run();
  durable();
  ASSERT_EQ(take_written(bconn).size(), 1u);
  auto answered = reads->answered.load();
  caf::anon_send(a, std::vector<request>{get(1, "/w", true)});
  sched.run();
  ASSERT_EQ(take_written(aconn).size(), 1u);
  EXPECT_EQ(reads->answered.load(), answered + 1) << "the session did not answer the read itself";
  caf::anon_send(b, std::vector<request>{set(2, "/w", "new")});
  sched.run(); // prepared and sent to the log, not durable yet
  // A's next read is in its mailbox before the state machine applies the change (and sends A the
  // event), but A runs after it: the read sees "new" while the event is still in A's mailbox.
  caf::anon_send(a, std::vector<request>{get(2, "/w")});
  caf::anon_send(sm, atoms::durable::value, rec->appended.back()->zxid);
  ASSERT_TRUE(sched.prioritize(sm));
  sched.run_once();
  sched.run();
  EXPECT_EQ(reads->answered.load(), answered + 2);
  auto out = take_written(aconn);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<watch_event>(out[0])) << "the read's answer came before the event";
  EXPECT_EQ(std::get<watch_event>(out[0]).type, event_type::node_data_changed);
  EXPECT_EQ(std::get<data_result>(as_response(out[1]).body).data, "new");
}

// A session the client closes is answered, its connection is closed, and the tree forgets it.
TEST_F(state_machine_actor_test, closing_a_session_answers_closes_its_connection_and_forgets_it) {
  rec->auto_durable = true;
  start();
  auto [sess, conn] = open_session();
  caf::anon_send(sess, std::vector<request>{request{9, close_request{}}});
  sched.run();
  auto out = take_written(conn);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(as_response(out[0]).xid, 9);
  ASSERT_EQ(rec->closed.size(), 1u);
  EXPECT_EQ(rec->closed[0], conn);
  auto rh = self->request(sm, caf::infinite, atoms::stats::value);
  sched.run(); // the stats ask the snapshotter for the directory's size
  answer(rh, [](protocol::server_stats& s) { EXPECT_EQ(s.sessions, 0u); });
}

// ---- the ensemble: server 3 leads servers 1 and 2, which the test plays ------------------------

namespace {

class ensemble_actor_test : public state_machine_actor_test {
protected:
  static constexpr int64_t tick_ms = 100;
  boost::filesystem::path dir =
      boost::filesystem::temp_directory_path() / boost::filesystem::unique_path("corral-sm-actor-%%%%-%%%%");
  std::map<zab::server_id, std::unique_ptr<zab::peer>> others;

  static zab::config config_of(zab::server_id id) {
    zab::config c;
    c.id = id;
    c.voters = {1, 2, 3};
    c.seed = static_cast<uint64_t>(id);
    return c;
  }

  void start_ensemble() {
    boost::filesystem::create_directories(dir);
    rec->auto_durable = true;
    auto setup = std::make_shared<ensemble_setup>();
    setup->zab = config_of(3);
    setup->epochs_path = (dir / persistence::epochs_file_name).string();
    setup->tick_ms = tick_ms;
    for (zab::server_id id : {1, 2})
      others[id] = std::make_unique<zab::peer>(config_of(id), zab::persistent_state{}, 0, std::vector<zab::entry>{}, 0,
                                               [] { return std::make_pair(zxid_t{0}, std::shared_ptr<const void>()); });
    start(setup);
    caf::anon_send(sm, atoms::connect::value, caf::actor_cast<transport_actor>(sys.spawn(fake_transport, rec)));
    for (zab::server_id id : {1, 2}) {
      caf::anon_send(sm, atoms::connected::value, id);
      others[id]->connected(3);
      others[id]->connected(id == 1 ? 2 : 1);
    }
    pump();
  }

  void settle() override { pump(); }

  void TearDown() override {
    state_machine_actor_test::TearDown();
    boost::system::error_code ec;
    boost::filesystem::remove_all(dir, ec);
  }

  // Delivers messages between the state machine and the two played servers until none is left
  // (bounded); the played servers' logs are durable at once.
  void pump() {
    for (int round = 0; round < 1000; ++round) {
      sched.run();
      bool moved = false;
      auto outbox = std::move(rec->to_peers);
      rec->to_peers.clear();
      for (auto& m : outbox) {
        others.at(m.to)->step(m);
        moved = true;
      }
      for (auto id : std::exchange(rec->dropped_links, {})) {
        // The state machine closed a link: both ends hear it, and the link comes back.
        others.at(id)->disconnected(3);
        caf::anon_send(sm, atoms::gone::value, id);
        others.at(id)->connected(3);
        caf::anon_send(sm, atoms::connected::value, id);
        moved = true;
      }
      for (auto& [id, p] : others)
        moved |= drain(*p);
      if (!moved && !sched.has_job())
        return;
    }
    FAIL() << "the ensemble never went quiet";
  }

  bool drain(zab::peer& p) {
    bool moved = false;
    for (auto r = p.take_ready(); !r.empty(); r = p.take_ready()) {
      moved = true;
      if (!r.to_log.empty())
        p.logged(r.to_log.back().zxid);
      for (auto& m : r.messages) {
        if (m.to == 3)
          caf::anon_send(sm, m);
        else
          others.at(m.to)->step(m);
      }
    }
    return moved;
  }

  // One replication tick for everyone: the state machine counts ticks by the real clock, so a tick
  // takes tick_ms of real time.
  void tick() {
    std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms));
    for (auto& [id, p] : others)
      p->tick();
    sched.advance_time(std::chrono::milliseconds(tick_ms));
    pump();
  }

  protocol::server_stats stats() {
    auto rh = self->request(sm, caf::infinite, atoms::stats::value);
    sched.run();
    protocol::server_stats out;
    answer(rh, [&](protocol::server_stats& s) { out = s; });
    return out;
  }
  bool leading() { return stats().serving && stats().mode == "leader"; }
  bool serving() { return stats().serving; }
};

} // namespace

// A leader that steps down (its lease ran out: its followers went silent) with a client's write
// proposed but not committed answers that write with ConnectionLoss before it drops the client's
// connection; when it serves again the session, resumed, is answered (nothing waits for the
// dropped proposal).
TEST_F(ensemble_actor_test, a_leader_stepping_down_answers_its_pending_write_and_serves_the_session_again) {
  start_ensemble();
  for (int i = 0; i < 20 && !leading(); ++i)
    tick();
  ASSERT_TRUE(leading()) << "server 3 (the highest id) should lead";
  auto [sess, conn] = open_session();
  caf::anon_send(sess, std::vector<request>{create(1, "/pending")});
  sched.run();
  ASSERT_FALSE(rec->to_peers.empty()) << "the create was not proposed";
  rec->to_peers.clear(); // the followers never hear of it, and are silent from now on
  // Past the lease: the next request ticks the leader up to now, and it steps down first.
  std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms * (config_of(3).sync_limit_ticks + 1)));
  caf::anon_send(sess, std::vector<request>{get(2, "/")});
  sched.run();
  auto out = take_written(conn);
  ASSERT_GE(out.size(), 1u);
  EXPECT_EQ(as_response(out[0]).xid, 1);
  EXPECT_EQ(as_response(out[0]).err, error_code::connection_loss);
  ASSERT_FALSE(rec->closed.empty()) << "the client's connection stayed open on a server that stopped serving";
  EXPECT_EQ(rec->closed.back(), conn);
  // The three elect again; the session reattaches (as its client reconnects) and is answered.
  for (int i = 0; i < 30 && !serving(); ++i)
    tick();
  ASSERT_TRUE(serving());
  client_conn again{caf::io::connection_handle::from_int(99), 99};
  protocol::connect_response resp;
  resp.session = 0;
  caf::anon_send(sess, atoms::attach::value, again, listener, resp, static_cast<int32_t>(wire::native));
  caf::anon_send(sess, std::vector<request>{get(3, "/")});
  sched.run();
  auto later = take_written(again);
  ASSERT_EQ(later.size(), 1u) << "the session's read waited for the dropped proposal";
  EXPECT_EQ(as_response(later[0]).xid, 3);
  EXPECT_EQ(as_response(later[0]).err, error_code::ok);
}
