#include "actors/scheduler.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/actor_system.hpp>
#include <caf/policy/unprofiled.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace corral {

namespace {

// CAF's work sharing (one queue, idle workers asleep on a condition variable) with one change: a
// job that an actor running on a worker makes ready (it sent a message to an idle actor) is kept by
// that worker, in a slot of one, and run when the current job ends, instead of being queued for
// whichever worker a wake-up reaches. A request passes from actor to actor (listener, session, state
// machine, session); with plain sharing each hop woke the other worker and put this one to sleep,
// two futex calls and a context switch per hop. The slot holds one job: a second one made ready
// during the same job goes to the shared queue and wakes a sleeping worker, so work that can run in
// parallel does. The price: the kept job waits for the end of the job that made it ready (an actor's
// turn, at most scheduler.max-throughput messages); no Corral actor waits inside a turn for another.
class handoff_sharing : public caf::policy::unprofiled {
public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {}
    std::mutex lock;
    std::condition_variable cv;
    std::deque<caf::resumable*> queue;
    size_t sleeping = 0;
  };
  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
    caf::resumable* next = nullptr; // only the worker's own thread reads or writes it
  };

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    push(d(self), job);
  }
  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job);
  }
  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    auto& next = d(self).next;
    if (next == nullptr)
      next = job;
    else
      push(d(self->parent()), job);
  }
  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    push(d(self->parent()), job); // it used its share of messages: others go first
  }
  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    if (auto* job = std::exchange(d(self).next, nullptr))
      return job;
    auto& c = d(self->parent());
    std::unique_lock<std::mutex> guard(c.lock);
    while (c.queue.empty()) {
      ++c.sleeping;
      c.cv.wait(guard);
      --c.sleeping;
    }
    auto* job = c.queue.front();
    c.queue.pop_front();
    return job;
  }
  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker* self, UnaryFunction f) {
    if (auto* job = std::exchange(d(self).next, nullptr))
      f(job);
  }
  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator* self, UnaryFunction f) {
    auto& c = d(self);
    std::unique_lock<std::mutex> guard(c.lock);
    while (!c.queue.empty()) {
      auto* job = c.queue.front();
      c.queue.pop_front();
      f(job);
    }
  }

private:
  static void push(coordinator_data& c, caf::resumable* job) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> guard(c.lock);
      c.queue.push_back(job);
      wake = c.sleeping > 0;
    }
    if (wake)
      c.cv.notify_one();
  }
};

} // namespace

void use_quiet_scheduler(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("handoff"));
  // hardware_concurrency() may be 0 when unknown; two workers keep an actor that blocks briefly (the
  // state machine writing the epochs file) from stalling every other.
  cfg.set("scheduler.max-threads", static_cast<int64_t>(std::max(2u, std::thread::hardware_concurrency())));
  // An actor gives its worker up after this many messages (CAF's default: never, while its mailbox
  // refills). Without a bound, the job a worker keeps for later (see handoff_sharing) could wait as
  // long as the actor before it finds messages, e.g. a session actor whose client pipelines without
  // pause; if the kept job were the state machine, the whole server would wait with it.
  cfg.set("scheduler.max-throughput", int64_t{100});
  // The scheduler is made when the actor system starts, after the config file and the command line
  // were read: CAF's own policies stay one setting away (scheduler.policy = 'sharing' or 'stealing';
  // any other value is this one).
  cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
    auto policy = caf::get_or(sys.config(), "scheduler.policy", caf::atom("handoff"));
    if (policy == caf::atom("stealing"))
      return new caf::scheduler::coordinator<caf::policy::work_stealing>(sys);
    if (policy == caf::atom("sharing"))
      return new caf::scheduler::coordinator<caf::policy::work_sharing>(sys);
    return new caf::scheduler::coordinator<handoff_sharing>(sys);
  });
}

} // namespace corral
