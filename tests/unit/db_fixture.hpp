// A database with a controllable clock and helpers that open sessions and run requests, so core
// tests read like client calls.
#pragma once

#include <gtest/gtest.h>

#include "core/database.hpp"

namespace corral::test {

class db_fixture : public ::testing::Test {
protected:
  database_options opts() {
    database_options o;
    o.tick_ms = 100;
    o.ttl_enabled = true;
    o.container_check_ms = 0;
    return o;
  }

  void SetUp() override { db = std::make_unique<database>(opts(), now); }

  session_id open(int32_t timeout_ms = 1000) {
    auto t = db->prepare_open_session(timeout_ms, "pw", now);
    db->apply(t);
    return t.session;
  }

  outcome run(session_id s, request_body body) {
    request r;
    r.xid = ++xid;
    r.body = std::move(body);
    auto out = db->handle(s, r, now);
    events.insert(events.end(), out.events.begin(), out.events.end());
    return out;
  }

  error_code create(session_id s, const std::string& path, const std::string& data = "",
                    create_mode mode = create_mode::persistent, acl_list acl = open_acl_unsafe(), int64_t ttl = -1) {
    return run(s, create_request{path, data, std::move(acl), mode, ttl}).resp.err;
  }

  std::string created_path(session_id s, const std::string& path, create_mode mode) {
    auto out = run(s, create_request{path, "", open_acl_unsafe(), mode, -1});
    EXPECT_EQ(out.resp.err, error_code::ok);
    return std::get<create_result>(out.resp.body).path;
  }

  node_stat stat(const std::string& path) {
    auto* n = db->tree().find(path);
    EXPECT_NE(n, nullptr) << path;
    return n == nullptr ? node_stat{} : db->tree().stat_of(*n);
  }

  bool exists(const std::string& path) { return db->tree().find(path) != nullptr; }

  // Runs expiry and garbage collection at the current time and applies what they produce.
  void tick() {
    for (auto& t : db->expire_sessions(now, now)) {
      auto out = db->apply(t);
      events.insert(events.end(), out.events.begin(), out.events.end());
    }
    for (auto& t : db->collect_garbage(now)) {
      auto out = db->apply(t);
      events.insert(events.end(), out.events.begin(), out.events.end());
    }
  }

  std::vector<delivery> take_events() { return std::exchange(events, {}); }

  int64_t now = 1'700'000'000'000;
  int32_t xid = 0;
  std::unique_ptr<database> db;
  std::vector<delivery> events;
};

} // namespace corral::test
