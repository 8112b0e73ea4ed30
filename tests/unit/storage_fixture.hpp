// A database that logs every txn like the server does (prepare -> log -> commit -> apply -> digest
// check), in a temporary directory, for persistence tests.
#pragma once

#include <gtest/gtest.h>

#include <boost/filesystem.hpp>

#include "core/database.hpp"
#include "persistence/log.hpp"
#include "persistence/recovery.hpp"
#include "persistence/snapshot.hpp"

namespace corral::test {

class storage_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    dir = (boost::filesystem::temp_directory_path() / boost::filesystem::unique_path("corral-storage-%%%%-%%%%"))
              .string();
    auto id = persistence::open_data_dir(dir);
    ASSERT_TRUE(id.ok());
    db_id = *id;
    opts.tick_ms = 100;
    db = std::make_unique<database>(opts, now);
    log = std::make_unique<persistence::log_appender>(dir, db_id, log_opts());
    session = open_session();
  }
  void TearDown() override {
    log.reset();
    boost::system::error_code ec;
    boost::filesystem::remove_all(dir, ec);
  }
  // Reopens the log with segments of `segment_bytes` (small ones roll often).
  void reopen_log_with_segments(uint64_t segment_bytes) {
    log.reset();
    auto o = log_opts();
    o.segment_bytes = segment_bytes;
    log = std::make_unique<persistence::log_appender>(dir, db_id, o);
  }
  virtual persistence::log_options log_opts() {
    persistence::log_options o;
    o.prealloc_bytes = 4096;
    o.segment_bytes = 1 << 20;
    return o;
  }

  // Logs and applies one txn, as one batch.
  outcome commit(const txn& t) {
    log->add(t);
    bool fatal = false;
    auto e = log->commit(fatal);
    EXPECT_EQ(e.code, error_code::ok) << e.detail;
    auto out = db->apply(t);
    log->add(persistence::digest_check{t.zxid, db->tree().digest()});
    return out;
  }
  session_id open_session() {
    auto t = db->prepare_open_session(10000, "pw", now);
    commit(t);
    return t.session;
  }
  outcome write(request_body body) { return commit(db->prepare(session, request{0, std::move(body)}, now)); }
  void create(const std::string& path, const std::string& data = "", create_mode mode = create_mode::persistent) {
    auto out = write(create_request{path, data, open_acl_unsafe(), mode, -1});
    EXPECT_EQ(out.resp.err, error_code::ok) << path;
  }
  // Writes a mixed workload of `n` operations.
  void workload(int n, const std::string& prefix = "/w") {
    create(prefix);
    for (int i = 0; i < n; ++i) {
      auto p = prefix + "/n" + std::to_string(i % 17);
      switch (i % 5) {
        case 0:
          write(create_request{p, "v" + std::to_string(i), open_acl_unsafe(), create_mode::persistent, -1});
          break;
        case 1: write(set_data_request{p, std::string(i % 50, 'x'), -1}); break;
        case 2:
          write(create_request{prefix + "/s-", "", open_acl_unsafe(), create_mode::persistent_sequential, -1});
          break;
        case 3: write(set_acl_request{p, read_acl_unsafe(), -1}); break;
        case 4: write(delete_request{p, -1}); break;
      }
    }
  }

  // Every node of a tree, for exact comparison.
  static std::vector<node_image> images(const data_tree& t) {
    std::vector<node_image> out;
    std::string cursor;
    while (t.visit_after(cursor, 1000, out)) {
    }
    return out;
  }
  static void expect_same_tree(const data_tree& a, const data_tree& b) {
    EXPECT_EQ(a.digest(), b.digest());
    auto x = images(a), y = images(b);
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i].path, y[i].path);
      EXPECT_EQ(x[i].data, y[i].data) << x[i].path;
      EXPECT_EQ(x[i].null_data, y[i].null_data) << x[i].path;
      EXPECT_EQ(x[i].acl, y[i].acl) << x[i].path;
      EXPECT_EQ(x[i].czxid, y[i].czxid) << x[i].path;
      EXPECT_EQ(x[i].mzxid, y[i].mzxid) << x[i].path;
      EXPECT_EQ(x[i].pzxid, y[i].pzxid) << x[i].path;
      EXPECT_EQ(x[i].version, y[i].version) << x[i].path;
      EXPECT_EQ(x[i].cversion, y[i].cversion) << x[i].path;
      EXPECT_EQ(x[i].aversion, y[i].aversion) << x[i].path;
      EXPECT_EQ(x[i].ephemeral_owner, y[i].ephemeral_owner) << x[i].path;
      EXPECT_EQ(x[i].mtime, y[i].mtime) << x[i].path;
    }
  }

  result<persistence::recovery_result> recover(bool repair = false, uint64_t window = 8 << 20) {
    persistence::recovery_options r;
    r.repair = repair;
    r.torn_window = window;
    return persistence::recover(dir, db_id, opts, r);
  }

  std::string dir;
  uint64_t db_id = 0;
  int64_t now = 1'700'000'000'000;
  database_options opts;
  std::unique_ptr<database> db;
  std::unique_ptr<persistence::log_appender> log;
  session_id session = 0;
};

} // namespace corral::test
