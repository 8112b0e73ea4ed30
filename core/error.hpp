// Error codes with ZooKeeper's names and numbers, and `result<T>`, the value-or-error type that every
// core operation returns. Anyone may include this; it has no dependencies beyond the standard library.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace corral {

// The numbers are ZooKeeper's KeeperException.Code values, so that they can cross the ZooKeeper wire
// unchanged and so that an operator who knows ZooKeeper recognises them.
enum class error_code : int32_t {
  ok = 0,
  system_error = -1,
  runtime_inconsistency = -2,
  data_inconsistency = -3,
  connection_loss = -4,
  marshalling_error = -5,
  unimplemented = -6,
  operation_timeout = -7,
  bad_arguments = -8,
  unknown_session = -12,
  new_config_no_quorum = -13,
  reconfig_in_progress = -14,
  api_error = -100,
  no_node = -101,
  no_auth = -102,
  bad_version = -103,
  no_children_for_ephemerals = -108,
  node_exists = -110,
  not_empty = -111,
  session_expired = -112,
  invalid_callback = -113,
  invalid_acl = -114,
  auth_failed = -115,
  session_moved = -118,
  not_read_only = -119,
  ephemeral_on_local_session = -120,
  no_watcher = -121,
  request_timeout = -122,
  reconfig_disabled = -123,
  session_closed_require_sasl_auth = -124,
  quota_exceeded = -125,
  throttled_op = -127,
};

// ZooKeeper's name for the code ("NoNode", "BadVersion", ...), or "Unknown".
const char* error_name(error_code code);

// The code for a raw number; unknown numbers map to system_error.
error_code error_from_int(int32_t raw);

// An error with an optional detail (the path, or what was wrong with an argument).
struct error_info {
  error_code code = error_code::ok;
  std::string detail;

  // "NoNode for /a/b" in the manner of KeeperException's message.
  std::string to_string() const;
};

// Value or error. Kept deliberately small: callers check ok() and then use value() or error().
template <class T>
class result {
public:
  result(T value) : data_(std::move(value)) {}
  result(error_info err) : data_(std::move(err)) {}
  result(error_code code, std::string detail = {}) : data_(error_info{code, std::move(detail)}) {}

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(data_); }
  const T& value() const { return std::get<0>(data_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const error_info& error() const { return std::get<1>(data_); }
  error_code code() const { return ok() ? error_code::ok : error().code; }

private:
  std::variant<T, error_info> data_;
};

struct unit {};

} // namespace corral
