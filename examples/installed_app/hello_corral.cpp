// hello_corral: the smallest app written as an actor against an installed Corral. It spawns a
// session actor, creates /hello (if missing), reads it back and prints it.
//   hello_corral HOST:PORT
#include <iostream>

#include "actors/client/session.hpp"

using namespace corral;

void caf_main(caf::actor_system& sys, const caf::actor_system_config& cfg) {
  client::session_options opts;
  opts.servers = {cfg.remainder.empty() ? "127.0.0.1:2281" : cfg.remainder[0]};
  auto session = client::spawn_session(sys, opts);
  sys.spawn([session](caf::event_based_actor* self) {
    auto read = [=] {
      self->request(session, std::chrono::seconds(10), request_body{get_data_request{"/hello", false}})
          .then([=](response& r) {
            auto* d = std::get_if<data_result>(&r.body);
            std::cout << (d ? "read: " + d->data : "error " + std::to_string(static_cast<int>(r.err))) << std::endl;
            self->send(session, atoms::close::value);
          });
    };
    self->request(session, std::chrono::seconds(10),
                  request_body{create_request{"/hello", "world", open_acl_unsafe(), create_mode::persistent, -1}})
        .then([=](response&) { read(); }); // created, or there already
  });
}

CAF_MAIN(caf::io::middleman)
