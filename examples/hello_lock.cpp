// hello_lock: an app written as actors. It takes a lock (its fencing token guards the work), lets
// go, then joins an election and leaves when it leads. Run: build/hello_lock 127.0.0.1:2281
// README.md shows this file from its first include line on, laid out by hand for reading:
// clang-format off
#include <iostream>

#include "actors/client/election.hpp"

using namespace corral;

void caf_main(caf::actor_system& sys, const caf::actor_system_config& cfg) {
  client::session_options opts;
  opts.servers = {cfg.remainder.empty() ? "127.0.0.1:2281" : cfg.remainder[0]};
  auto session = client::spawn_session(sys, opts);
  auto lock = client::spawn_lock(sys, session, "/app/lock");
  sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    self->request(lock, caf::infinite, atoms::acquire::value, int64_t{5000})
        .then([=](result<client::lock_grant>& g) {
          if (!g.ok())
            return (void)(std::cout << "no lock: " << g.error().to_string() << std::endl);
          std::cout << "locked, fencing token " << g->fencing_token << std::endl;
          self->request(lock, caf::infinite, atoms::release::value).then([=](result<unit>&) {
            std::cout << "unlocked" << std::endl;
            client::spawn_leader_latch(self->system(), session, "/app/leader", "hello", self);
          });
        });
    return {
        [=](client::leadership& l) {
          std::cout << (l.is_leader ? "leading" : "not leading") << std::endl;
          if (l.is_leader) // done: closing the session ends the lock and the latch too
            self->request(session, caf::infinite, atoms::close::value).then([=](response&) { self->quit(); });
        },
        [](client::lock_notice& n) { std::cout << "lock " << client::to_string(n.what) << std::endl; },
    };
  });
}

CAF_MAIN(caf::io::middleman)
