// worker_pool: workers in several processes take jobs one at a time under a Corral lock and write
// each result to a shared resource (a ledger file) that refuses stale fencing tokens. A worker that
// is paused while it holds the lock (kill -STOP, a long GC, a swapped-out VM) loses its session and
// so the lock; when it wakes up and writes, its token is older than the new holder's and the ledger
// rejects it: the pause cannot corrupt the resource.
//
// Run three workers against a local ensemble (tools/dev.sh run), then read the ledger:
//   build/worker_pool --server=127.0.0.1:2281 --name=w1 --jobs=5 --ledger=/tmp/ledger &
//   build/worker_pool --server=127.0.0.1:2281 --name=w2 --jobs=5 --ledger=/tmp/ledger &
//   build/worker_pool --server=127.0.0.1:2281 --name=w3 --jobs=5 --ledger=/tmp/ledger; cat /tmp/ledger
// Each worker prints "holding <token>", then "wrote <token>" or "rejected <token>", and "done".
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "actors/scheduler.hpp"
#include "actors/client/lock.hpp"

using namespace corral;

namespace {

struct pool_config : caf::actor_system_config {
  std::string server = "127.0.0.1:2281", name = "worker", ledger = "ledger", lock = "/pool/lock";
  int jobs = 5, work_ms = 20, session_ms = 4000;
  pool_config() {
    corral::use_quiet_scheduler(*this); // no CPU while waiting (actors/scheduler.hpp)
    opt_group{custom_options_, "global"}
        .add(server, "server", "a Corral server, host:port")
        .add(name, "name", "this worker's name in the ledger")
        .add(ledger, "ledger", "the shared resource: a file every worker appends to")
        .add(lock, "lock", "the lock's path")
        .add(jobs, "jobs", "how many jobs to do")
        .add(work_ms, "work-ms", "how long a job takes while holding the lock")
        .add(session_ms, "session-ms", "session timeout");
  }
};

// The resource: it remembers the highest token it has seen and refuses anything older. The file
// lock only makes check-and-append atomic between processes; the token is what keeps it correct.
bool fenced_append(const std::string& file, int64_t token, const std::string& entry) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || ::flock(fd, LOCK_EX) != 0)
    return false;
  std::ifstream in(file);
  int64_t highest = 0, t = 0;
  std::string line;
  while (std::getline(in, line))
    if (std::istringstream(line) >> t)
      highest = std::max(highest, t);
  bool ok = token >= highest;
  auto out = (ok ? std::to_string(token) + " " + entry : "# rejected " + std::to_string(token) + " " + entry) + "\n";
  bool written = ::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size());
  ::close(fd); // also releases the flock
  return ok && written;
}

struct worker_state {
  caf::actor session, lock;
  int done = 0;
};

caf::behavior worker(caf::stateful_actor<worker_state>* self, const pool_config* cfg, caf::actor session) {
  self->state.session = session;
  self->state.lock = client::spawn_lock(self->system(), session, cfg->lock);
  auto next_job = [self, cfg] {
    self->request(self->state.lock, caf::infinite, atoms::acquire::value, int64_t{-1})
        .then([self, cfg](result<client::lock_grant>& g) {
          if (!g.ok()) {
            std::cout << "error " << g.error().to_string() << std::endl;
            return self->quit();
          }
          std::cout << "holding " << g->fencing_token << std::endl;
          // The job. (A pause here is what the fencing token guards against.)
          std::this_thread::sleep_for(std::chrono::milliseconds(cfg->work_ms));
          auto entry = cfg->name + " job " + std::to_string(self->state.done + 1);
          bool ok = fenced_append(cfg->ledger, g->fencing_token, entry);
          std::cout << (ok ? "wrote " : "rejected ") << g->fencing_token << std::endl;
          self->request(self->state.lock, caf::infinite, atoms::release::value).then([self, cfg](result<unit>&) {
            if (++self->state.done == cfg->jobs) {
              std::cout << "done" << std::endl;
              self->send(self->state.session, atoms::close::value);
              return self->quit();
            }
            self->send(self, atoms::tick::value);
          });
        });
  };
  next_job();
  return {
      [next_job](atoms::tick) { next_job(); },
      [](client::lock_notice& n) { std::cout << "notice " << client::to_string(n.what) << std::endl; },
  };
}

void caf_main(caf::actor_system& sys, const pool_config& cfg) {
  client::session_options opts;
  opts.servers = {cfg.server};
  opts.session_timeout_ms = cfg.session_ms;
  // Detached: a job blocks (the work, the ledger's file lock), so the worker gets a thread of its
  // own instead of holding up one of the scheduler's threads, which the session and lock actors use.
  sys.spawn<caf::detached>(worker, &cfg, client::spawn_session(sys, opts));
}

} // namespace

CAF_MAIN(caf::io::middleman)
