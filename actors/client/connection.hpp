// One TCP connection of a client session (actors/client/session.cpp), without the actor hops of
// CAF's brokers. The session writes from its own turn, on whichever scheduler thread runs it: a
// write goes to the socket at once, and only when the kernel's buffer is full does the tail wait
// for the connection's thread. That thread blocks in poll() and hands every read's bytes, as read,
// to a callback (the session forwards them to itself as one message per read).
//
// Why not a CAF broker: CAF 0.17 runs brokers on the middleman's one I/O thread, so each request
// crossed from the requester's worker to that thread (a pipe write and a wake-up) and each answer
// crossed back; measured, that was most of the native client's 11 us of CPU per request.
//
// Who calls what: the session calls write() and close() (from one actor, so never concurrently);
// the callbacks run on the connection's thread. No CAF here: plain POSIX, unit-tested over a
// socketpair (tests/unit/client_connection_test.cpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace corral::client {

class connection {
public:
  struct callbacks {
    std::function<void(std::vector<char>&& bytes)> data; // one call per read, in order
    std::function<void(const std::string& why)> closed;  // once, last; not after close()
  };

  // Bytes the kernel would not take yet, held for the connection's thread. Beyond this the peer is
  // not reading at all; the connection is broken rather than let memory grow.
  static constexpr size_t max_backlog_bytes = 64u << 20;

  // Takes `fd` (a connected TCP socket; made non-blocking here) and starts the connection's thread.
  static std::shared_ptr<connection> start(int fd, callbacks cb);

  // Sends now, or queues what the socket does not take. False: the connection is broken (its
  // thread reports `closed`). Not thread-safe against itself: one writer.
  bool write(const char* data, size_t size);

  // Shuts the socket down (the peer sees it closed at once) and ends the thread. A callback that was
  // already under way may still finish (the session ignores bytes of a connection it dropped: each
  // carries the connection's generation). Idempotent; safe from any thread, including the
  // connection's own (the session may be destroyed there, by its last reference going).
  void close();

  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

private:
  connection(int fd, int wake_fd, callbacks cb);
  void run();
  bool flush_backlog(); // on the connection's thread, when the socket is writable again
  bool send_now(const char* data, size_t size, size_t& sent);
  void wake();

  const int fd_;
  const int wake_fd_; // an eventfd: close(), or a backlog that wants POLLOUT
  callbacks cb_;
  std::mutex mu_; // backlog_ and the socket's write side
  std::vector<char> backlog_;
  std::atomic<bool> want_out_{false};
  std::atomic<bool> broken_{false};
  std::atomic<bool> stopping_{false};
  std::string broken_why_;
};

} // namespace corral::client
