// Helpers for tests that run real processes on 127.0.0.1: a corral-server process on a free port
// with its own temporary data dir, a raw native-protocol client for wire-level checks, a TCP proxy
// that can cut every connection (to force reconnects), and running corral-cli.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <chrono>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actors/client/blocking_client.hpp"
#include "protocol/client_codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/jute_codec.hpp"

namespace corral::test {

class server_process {
public:
  // `env`: "NAME=value" entries added to the server's environment (each start, until set_env).
  explicit server_process(std::vector<std::string> extra_args = {}, std::vector<std::string> env = {});
  void set_env(std::vector<std::string> env) { env_ = std::move(env); }
  ~server_process();
  server_process(const server_process&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The ZooKeeper-protocol port (a free one, kept across restarts).
  int32_t zk_port() const { return zk_port_; }
  // The TLS ports (-1 unless started with --corral.secure-zk-port / --corral.secure-port).
  int32_t secure_zk_port() const { return secure_zk_port_; }
  int32_t secure_port() const { return secure_port_; }
  std::string zk_address() const { return "127.0.0.1:" + std::to_string(zk_port_); }
  const std::string& dir() const { return dir_; }
  std::string log() const;
  void kill9();
  // SIGTERM, and wait for a clean exit.
  void stop();
  // Starts again on the same port and data dir.
  void restart();
  pid_t pid() const { return pid_; }
  // Waits for it to exit on its own (then it is reaped, and the destructor kills nothing).
  bool wait_exit(std::chrono::milliseconds timeout);
  // Limits the size of files the server may write (RLIMIT_FSIZE): a stand-in for a full disk.
  void limit_file_size(uint64_t bytes);

private:
  void start(uint16_t port);
  std::vector<std::string> extra_, env_;
  std::string dir_;
  uint16_t port_ = 0;
  int32_t zk_port_ = 0;
  int32_t secure_zk_port_ = -1, secure_port_ = -1;
  pid_t pid_ = -1;
};

// A blocking socket that speaks the native protocol frame by frame.
class raw_client {
public:
  explicit raw_client(uint16_t port);
  ~raw_client();
  void send(const protocol::client_message& m);
  void send_bytes(const std::string& bytes);
  // The next frame, or nothing after `timeout_ms` or when the server closed the connection.
  std::optional<protocol::server_message> recv(int timeout_ms = 5000);
  // True once the server has closed the connection (waits up to timeout_ms).
  bool closed_by_server(int timeout_ms = 5000);
  protocol::connect_response handshake(session_id id = 0, const std::string& password = "", int32_t timeout_ms = 10000);
  // Sends a request and returns its response, collecting any events that came first.
  response call(request_body body, std::vector<watch_event>* events = nullptr);

private:
  int fd_ = -1;
  int32_t next_xid_ = 1;
  protocol::frame_reader reader_{64 << 20};
};

// A blocking socket that speaks ZooKeeper's protocol (jute) packet by packet.
class raw_jute_client {
public:
  explicit raw_jute_client(uint16_t port);
  ~raw_jute_client();
  raw_jute_client(const raw_jute_client&) = delete;
  // Sends a ConnectRequest (with the read-only flag, as current clients do) and does not wait.
  void send_connect(session_id id = 0, const std::string& password = std::string(16, '\0'), int32_t timeout_ms = 10000);
  void send_request(const request& r, protocol::jute::reply_shape shape);
  // The next packet's body, or nothing after `timeout_ms` or when the server closed the connection.
  std::optional<std::string> next(int timeout_ms = 5000);
  // send_connect, then the ConnectResponse (throws if none comes).
  protocol::connect_response handshake(session_id id = 0, const std::string& password = std::string(16, '\0'),
                                       int32_t timeout_ms = 10000);
  int fd() const { return fd_; }

private:
  int fd_ = -1;
  protocol::jute::packet_reader packets_{4u << 20};
};

// Forwards 127.0.0.1:port() to 127.0.0.1:target; cut() closes every forwarded connection.
class tcp_proxy {
public:
  explicit tcp_proxy(uint16_t target);
  ~tcp_proxy();
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void cut();
  // While down, connections are cut and new ones closed at once: the client stays disconnected
  // (a cut alone lets it reconnect within milliseconds).
  void set_down(bool down) {
    refusing_ = down;
    if (down)
      cut();
  }
  // Forwards what the target sends at most this fast (0: as fast as it comes); a slow reader.
  void throttle(size_t bytes_per_second) { rate_ = bytes_per_second; }

private:
  void run();
  std::atomic<size_t> rate_{0};
  std::atomic<bool> refusing_{false};
  uint16_t target_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> cut_requests_{0};
  std::thread thread_;
};

struct cli_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs corral-cli with `args`, feeding `input` on standard input (through a pipe, pausing
// `line_delay_ms` after each line, so the CLI stays alive while other things happen).
cli_result run_cli(const std::vector<std::string>& args, const std::string& input = "", int line_delay_ms = 0);
// Runs any of the project's tools (corral-logdump, ...) the same way; killed after `limit`.
cli_result run_tool(const std::string& binary, const std::vector<std::string>& args, const std::string& input = "",
                    int line_delay_ms = 0, std::chrono::seconds limit = std::chrono::seconds(30));

// A child process driven line by line: commands go to its standard input, answers come from its
// standard output (stderr goes to a file, shown by `stderr_text()`). The destructor kills it (by
// its PID) and waits for it. Used for the Curator and kazoo drivers of the interop tests.
class line_process {
public:
  explicit line_process(const std::vector<std::string>& argv);
  ~line_process();
  line_process(const line_process&) = delete;
  line_process& operator=(const line_process&) = delete;
  void send_line(const std::string& line);
  // The next line it prints, or nothing if none came within `timeout` (or it exited).
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Sends `command` and returns its one-line answer ("" if none came within `timeout`).
  std::string ask(const std::string& command, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string stderr_text() const;
  pid_t pid() const { return pid_; }
  // Waits for it to exit on its own (then it is reaped, and the destructor kills nothing).
  bool wait_exit(std::chrono::milliseconds timeout);

private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buffered_, err_file_;
};

// A blocking TCP connection to 127.0.0.1:port (TCP_NODELAY); throws if nobody listens. `from`
// picks the local address (any 127.x.y.z works on the loopback interface).
int connect_to(uint16_t port, const char* from = nullptr);

// Reads what arrives on `fd` into `feed` until `done()` says so, the deadline passes or the peer
// closes; false unless done() held. For the raw clients' "next frame" loops.
bool read_until(int fd, std::chrono::steady_clock::time_point deadline,
                const std::function<void(const char*, size_t)>& feed, const std::function<bool()>& done);

// Sends a four-letter word ("ruok", "srvr", ...) to 127.0.0.1:port and returns the whole answer
// ("" if nobody listens there yet).
std::string four_letter_word(uint16_t port, const std::string& word);

// Options for a client of the server at `address`: this session timeout, requests answered within 10 s.
client::client_options client_at(const std::string& address, int32_t session_timeout_ms = 4000);

// SIGSTOP to `pid`, then waits until every thread of it has stopped (kill() only queues the signal:
// a thread inside a syscall, an fsync say, finishes it first, and can log or send meanwhile).
// False if that takes longer than `timeout`.
bool pause_process(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A port for a server this test starts (tools/torture/processes.hpp says how it is picked and kept).
uint16_t free_port();

// A local ensemble of corral-server processes on 127.0.0.1.
struct local_ensemble {
  // `voters` servers start now; `observers` more are named in the configuration (with higher ids, so
  // they connect to the voters) and start when start(id) is called. With `name_zk_ports` the
  // configuration names each server's ZooKeeper port too (`;port`, as ZooKeeper's dynamic config
  // does; what Curator's EnsembleTracker reads), picked like the others, in `zk_ports`.
  explicit local_ensemble(int voters, int observers = 0, std::vector<std::string> extra = {},
                          bool name_zk_ports = false);
  void start(int id);
  // The native-protocol address of server i (0-based), and all of them.
  std::string address(int i) const;
  std::vector<std::string> all() const;
  // The ZooKeeper-protocol addresses of the running servers, comma-separated (a connect string).
  std::string zk_connect_string() const;
  // The index of the server whose log says it leads the newest epoch (-1 if none yet).
  int leader() const;

  std::string list_;
  std::vector<std::string> extra_;
  std::vector<uint16_t> client_ports, quorum_ports, zk_ports;
  std::vector<std::unique_ptr<server_process>> servers;
};

// Polls `pred` every 10 ms until it holds or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

} // namespace corral::test
