// How every Corral program configures CAF's scheduler: called from the constructor of its
// actor_system_config (the server, the blocking client, the tools; apps built on the client library
// may call it too). The config file and the command line (scheduler.policy, scheduler.max-threads)
// still override what it sets.
//
// Why: CAF 0.17's default work-stealing policy has each idle worker poll its queue 100 times, then
// 500 more times with 50 us sleeps (25 ms of wake-ups) before it waits on a condition variable, and
// a server becomes idle after every request when load is light and after every 100 ms tick when there
// is none. Measured (docs/benchmarks.md): a 3-server ensemble with no clients used 46% of a core; with
// the work-sharing policy (one queue, idle workers wait on a condition variable and the next job
// wakes one) 1.5%, and a standalone server went from 1.4% to under 0.1%; at one request in flight
// CPU per request fell by a third to a half and throughput rose 1.5-2x, with no loss under load.
#pragma once

namespace caf {
class actor_system_config;
}

namespace corral {

// Work-sharing policy, one worker per core (at least 2).
void use_quiet_scheduler(caf::actor_system_config& cfg);

} // namespace corral
