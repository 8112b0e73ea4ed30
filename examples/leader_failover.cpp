// leader_failover: one process of many leads; when it dies, another takes over. Each process joins
// a leader latch (Curator's LeaderLatch layout) and prints "leader <id>" when it gains leadership and
// "follower <id>" when it loses it. Kill the leader (kill -9) and watch another one print "leader"
// within the session timeout.
//   build/leader_failover --server=127.0.0.1:2281 --id=a &
//   build/leader_failover --server=127.0.0.1:2281 --id=b &
#include <iostream>

#include "actors/scheduler.hpp"
#include "actors/client/election.hpp"

using namespace corral;

namespace {

struct failover_config : caf::actor_system_config {
  std::string server = "127.0.0.1:2281", id = "member", path = "/election/failover";
  int session_ms = 4000;
  failover_config() {
    corral::use_quiet_scheduler(*this); // no CPU while waiting (actors/scheduler.hpp)
    opt_group{custom_options_, "global"}
        .add(server, "server", "a Corral server, host:port")
        .add(id, "id", "this participant's id")
        .add(path, "path", "the election's path")
        .add(session_ms, "session-ms", "session timeout");
  }
};

void caf_main(caf::actor_system& sys, const failover_config& cfg) {
  client::session_options opts;
  opts.servers = {cfg.server};
  opts.session_timeout_ms = cfg.session_ms;
  auto session = client::spawn_session(sys, opts);
  auto app = sys.spawn([id = cfg.id](caf::event_based_actor*) -> caf::behavior {
    return {[id](client::leadership& l) { std::cout << (l.is_leader ? "leader " : "follower ") << id << std::endl; }};
  });
  std::cout << "joined " << cfg.id << std::endl;
  client::spawn_leader_latch(sys, session, cfg.path, cfg.id, app);
}

} // namespace

CAF_MAIN(caf::io::middleman)
