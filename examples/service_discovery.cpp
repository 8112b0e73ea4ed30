// service_discovery: instances of a service register themselves and see each other. Each process
// joins the group /services/<service> as a group member (Curator's GroupMember layout: an ephemeral
// node named by its id, holding its address) on a session that renews itself after expiry, so an
// instance cut off long enough to expire rejoins by itself. It prints the instances it sees,
// sorted, each time they change:
//   instances a=127.0.0.1:8001 b=127.0.0.1:8002
// Kill one instance (kill -9): the others print the smaller list once its session times out.
//   build/service_discovery --server=127.0.0.1:2281 --id=a --address=127.0.0.1:8001 &
//   build/service_discovery --server=127.0.0.1:2281 --id=b --address=127.0.0.1:8002 &
#include <iostream>
#include <map>

#include "actors/scheduler.hpp"
#include "actors/client/persistent_node.hpp"
#include "core/path.hpp"

using namespace corral;

namespace {

struct discovery_config : caf::actor_system_config {
  std::string server = "127.0.0.1:2281", service = "api", id = "instance", address = "127.0.0.1:8000";
  int session_ms = 4000;
  discovery_config() {
    corral::use_quiet_scheduler(*this); // no CPU while waiting (actors/scheduler.hpp)
    opt_group{custom_options_, "global"}
        .add(server, "server", "a Corral server, host:port")
        .add(service, "service", "the service this instance provides")
        .add(id, "id", "this instance's id")
        .add(address, "address", "where clients reach this instance")
        .add(session_ms, "session-ms", "session timeout");
  }
};

// Keeps the instances as the group member's events tell them, and prints them on every change
// after the first full load.
caf::behavior printer(caf::event_based_actor*) {
  auto seen = std::make_shared<std::map<std::string, std::string>>();
  auto ready = std::make_shared<bool>(false);
  return {[seen, ready](client::cache_event& e) {
    auto id = std::string(basename_of(e.node.path));
    if (e.kind == client::cache_event_kind::deleted)
      seen->erase(id);
    else if (e.kind != client::cache_event_kind::initialized)
      (*seen)[id] = e.node.data;
    else
      *ready = true;
    if (!*ready)
      return;
    std::cout << "instances";
    for (auto& [i, addr] : *seen)
      std::cout << " " << i << "=" << addr;
    std::cout << std::endl;
  }};
}

void caf_main(caf::actor_system& sys, const discovery_config& cfg) {
  client::session_options opts;
  opts.servers = {cfg.server};
  opts.session_timeout_ms = cfg.session_ms;
  opts.renew_after_expiry = true;
  auto session = client::spawn_session(sys, opts);
  client::spawn_group_member(sys, session, "/services/" + cfg.service, cfg.id, cfg.address, sys.spawn(printer));
}

} // namespace

CAF_MAIN(caf::io::middleman)
