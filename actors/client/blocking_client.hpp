// A blocking facade over the session actor for plain (non-actor) code: corral-cli, tests, scripts.
// It runs its own small actor system. Every call waits for its answer (or the request timeout) and
// returns the server's error code as a result. Watch events and connection-state changes go to
// callbacks (called on a library thread) and to a queue that next_event() reads.
// Thread-safe: calls from several threads are serialised.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace corral::client {

enum class connection_state;

struct client_options {
  std::vector<std::string> servers{"127.0.0.1:2281"};
  int32_t session_timeout_ms = 10000;
  int32_t request_timeout_ms = 30000;
  // TLS to the servers' corral.secure-port: the CA that signed the server certificates, and this
  // client's certificate and key if the servers ask for one (all PEM; empty ca: plain TCP).
  std::string tls_ca_file, tls_cert_file, tls_key_file;
};

class blocking_client {
public:
  explicit blocking_client(client_options opts);
  ~blocking_client();
  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;

  // Waits until the session is connected; false on timeout or expiry.
  bool wait_connected(std::chrono::milliseconds timeout);

  // Any request. With watch set on exists/getData/getChildren (or for addWatch), the watch's events
  // go to the callbacks and the queue.
  response call(request_body body);

  result<create_result> create(const std::string& path, const std::string& data,
                               create_mode mode = create_mode::persistent, acl_list acl = open_acl_unsafe(),
                               int64_t ttl = -1);
  result<unit> remove(const std::string& path, int32_t version = -1);
  result<node_stat> exists(const std::string& path, bool watch = false);
  result<data_result> get(const std::string& path, bool watch = false);
  result<node_stat> set(const std::string& path, const std::string& data, int32_t version = -1);
  result<children_result> children(const std::string& path, bool watch = false);
  result<acl_result> get_acl(const std::string& path);
  result<node_stat> set_acl(const std::string& path, acl_list acl, int32_t version = -1);
  result<std::vector<op_result>> multi(std::vector<multi_op> ops);
  result<unit> add_auth(const std::string& scheme, const std::string& credentials);
  result<unit> add_watch(const std::string& path, add_watch_mode mode);
  result<unit> sync(const std::string& path);
  // Ends the session: its ephemerals are deleted. Further calls fail with SessionExpired.
  void close();

  void on_event(std::function<void(const watch_event&)> fn);
  void on_state(std::function<void(connection_state)> fn);
  // The next watch event, or nothing after `timeout`.
  std::optional<watch_event> next_event(std::chrono::milliseconds timeout);

  session_id id() const;
  connection_state state() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace corral::client
