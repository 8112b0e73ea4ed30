#include <gtest/gtest.h>

#include "core/acl.hpp"
#include "db_fixture.hpp"

using namespace corral;
using corral::test::db_fixture;

TEST(acl, digest_matches_zookeeper) {
  // zkCli: addauth digest super:test; the digest ZooKeeper documents for it.
  EXPECT_EQ(digest_of("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
}

TEST(acl, parse_text_form) {
  auto acl = parse_acl("world:anyone:cdrwa,digest:bob:abc=:r,ip:10.0.0.0/8:rw");
  ASSERT_TRUE(acl.ok());
  ASSERT_EQ(acl->size(), 3u);
  EXPECT_EQ((*acl)[0].perms, perm::all);
  EXPECT_EQ((*acl)[1].id, "bob:abc=");
  EXPECT_EQ((*acl)[1].perms, perm::read);
  EXPECT_EQ((*acl)[2].perms, perm::read | perm::write);
  EXPECT_FALSE(parse_acl("world:anyone").ok());
  EXPECT_FALSE(parse_acl("world:anyone:x").ok());
  EXPECT_EQ(perms_to_string(perm::all), "cdrwa");
}

TEST(acl, ip_cidr_matching) {
  EXPECT_TRUE(ip_matches("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(ip_matches("127.0.0.1", "127.0.0.2"));
  EXPECT_TRUE(ip_matches("10.0.0.0/8", "10.200.3.4"));
  EXPECT_FALSE(ip_matches("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(ip_matches("0.0.0.0/0", "1.2.3.4"));
}

TEST(acl, fix_acl_expands_auth_and_rejects_bad_ids) {
  auth_list none;
  auth_list bob{{"digest", "bob:hash"}, {"ip", "127.0.0.1"}};
  EXPECT_EQ(fix_acl(creator_all_acl(), none).code(), error_code::invalid_acl);
  auto fixed = fix_acl(creator_all_acl(), bob);
  ASSERT_TRUE(fixed.ok());
  ASSERT_EQ(fixed->size(), 1u); // ip identities are not "authenticated" for the auth scheme
  EXPECT_EQ((*fixed)[0].scheme, "digest");
  EXPECT_EQ((*fixed)[0].id, "bob:hash");
  EXPECT_EQ(fix_acl({}, bob).code(), error_code::invalid_acl);
  EXPECT_EQ(fix_acl({{perm::all, "nope", "x"}}, bob).code(), error_code::invalid_acl);
  EXPECT_EQ(fix_acl({{perm::all, "digest", "nocolon"}}, bob).code(), error_code::invalid_acl);
  EXPECT_EQ(fix_acl({{perm::all, "ip", "300.1.1.1"}}, bob).code(), error_code::invalid_acl);
  EXPECT_EQ(fix_acl({{perm::all, "world", "someone"}}, bob).code(), error_code::invalid_acl);
}

TEST(acl, x509_and_sasl_ids_are_matched_exactly_and_count_for_auth) {
  auth_list cert{{"ip", "127.0.0.1"}, {"x509", "CN=app,O=Corral"}};
  auto fixed = fix_acl({{perm::all, "auth", ""}}, cert);
  ASSERT_TRUE(fixed);
  ASSERT_EQ(fixed->size(), 1u); // the certificate identity; not the address
  EXPECT_EQ((*fixed)[0].scheme, "x509");
  EXPECT_EQ((*fixed)[0].id, "CN=app,O=Corral");
  EXPECT_TRUE(fix_acl({{perm::read, "x509", "CN=app,O=Corral"}}, {}));
  EXPECT_TRUE(fix_acl({{perm::read, "sasl", "alice"}}, {}));
  EXPECT_EQ(fix_acl({{perm::read, "x509", ""}}, {}).code(), error_code::invalid_acl);
  acl_list acl{{perm::read, "x509", "CN=app,O=Corral"}};
  EXPECT_TRUE(acl_permits(acl, cert, perm::read));
  EXPECT_FALSE(acl_permits(acl, {{"x509", "CN=app,O=Other"}}, perm::read));
  EXPECT_FALSE(acl_permits(acl, {{"sasl", "CN=app,O=Corral"}}, perm::read));
}

TEST(acl, cache_shares_and_releases) {
  acl_cache cache;
  auto a = cache.intern(open_acl_unsafe());
  auto b = cache.intern(open_acl_unsafe());
  auto c = cache.intern(read_acl_unsafe());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(cache.size(), 2u);
  cache.release(c);
  EXPECT_EQ(cache.size(), 1u);
  cache.release(a);
  EXPECT_EQ(cache.size(), 1u);
  cache.release(b);
  EXPECT_EQ(cache.size(), 0u);
}

// The per-operation ACL table: which permission each operation needs, and where.
class acl_table : public db_fixture {
protected:
  void SetUp() override {
    db_fixture::SetUp();
    owner = open();
    other = open();
    run(owner, auth_request{"digest", "alice:secret"});
  }
  // A node that grants alice everything and the world only `world_perms`.
  void make(const std::string& path, int32_t world_perms) {
    acl_list acl{{perm::all, "digest", digest_of("alice:secret")}};
    if (world_perms != 0)
      acl.push_back({world_perms, "world", "anyone"});
    ASSERT_EQ(create(owner, path, "d", create_mode::persistent, acl), error_code::ok);
  }
  session_id owner = 0, other = 0;
};

TEST_F(acl_table, create_needs_create_on_parent) {
  make("/p", perm::all & ~perm::create);
  EXPECT_EQ(create(other, "/p/c"), error_code::no_auth);
  EXPECT_FALSE(exists("/p/c"));
  EXPECT_EQ(create(owner, "/p/c"), error_code::ok);
}

TEST_F(acl_table, delete_needs_delete_on_parent_not_on_node) {
  make("/p", perm::all & ~perm::remove);
  ASSERT_EQ(create(owner, "/p/c", "", create_mode::persistent, read_acl_unsafe()), error_code::ok);
  EXPECT_EQ(run(other, delete_request{"/p/c", -1}).resp.err, error_code::no_auth);
  make("/q", perm::all);
  // The child's own ACL forbids everything but reading; deleting it is still allowed.
  ASSERT_EQ(create(owner, "/q/c", "", create_mode::persistent, read_acl_unsafe()), error_code::ok);
  EXPECT_EQ(run(other, delete_request{"/q/c", -1}).resp.err, error_code::ok);
}

TEST_F(acl_table, set_data_needs_write_get_needs_read_exists_needs_nothing) {
  make("/w", perm::read);
  EXPECT_EQ(run(other, set_data_request{"/w", "x", -1}).resp.err, error_code::no_auth);
  EXPECT_EQ(run(other, get_data_request{"/w", false}).resp.err, error_code::ok);
  make("/r", perm::write);
  EXPECT_EQ(run(other, get_data_request{"/r", false}).resp.err, error_code::no_auth);
  EXPECT_EQ(run(other, get_children_request{"/r", false}).resp.err, error_code::no_auth);
  EXPECT_EQ(run(other, set_data_request{"/r", "x", -1}).resp.err, error_code::ok);
  make("/n", 0);
  EXPECT_EQ(run(other, exists_request{"/n", false}).resp.err, error_code::ok);
}

TEST_F(acl_table, set_acl_needs_admin_and_acls_are_not_inherited) {
  make("/a", perm::read);
  EXPECT_EQ(run(other, set_acl_request{"/a", open_acl_unsafe(), -1}).resp.err, error_code::no_auth);
  EXPECT_EQ(run(owner, set_acl_request{"/a", open_acl_unsafe(), 0}).resp.err, error_code::ok);
  EXPECT_EQ(stat("/a").aversion, 1);
  EXPECT_EQ(run(owner, set_acl_request{"/a", open_acl_unsafe(), 0}).resp.err, error_code::bad_version);
  make("/locked", perm::create);
  ASSERT_EQ(create(other, "/locked/kid"), error_code::ok);
  // The child got the ACL it was created with, not its parent's.
  EXPECT_EQ(run(other, get_data_request{"/locked/kid", false}).resp.err, error_code::ok);
}

TEST_F(acl_table, get_acl_needs_read_or_admin_and_hides_hashes_from_admin_only) {
  acl_list acl{{perm::admin, "world", "anyone"}, {perm::all, "digest", digest_of("alice:secret")}};
  ASSERT_EQ(create(owner, "/g", "", create_mode::persistent, acl), error_code::ok);
  auto out = run(other, get_acl_request{"/g"});
  ASSERT_EQ(out.resp.err, error_code::ok);
  auto& got = std::get<acl_result>(out.resp.body).acl;
  EXPECT_EQ(got[1].id, "alice:x");
  auto full = std::get<acl_result>(run(owner, get_acl_request{"/g"}).resp.body).acl;
  EXPECT_EQ(full[1].id, digest_of("alice:secret"));
  make("/none", 0);
  EXPECT_EQ(run(other, get_acl_request{"/none"}).resp.err, error_code::no_auth);
}

TEST_F(acl_table, auth_scheme_and_ip_scheme) {
  EXPECT_EQ(create(other, "/x", "", create_mode::persistent, creator_all_acl()), error_code::invalid_acl);
  EXPECT_EQ(create(owner, "/x", "", create_mode::persistent, creator_all_acl()), error_code::ok);
  auto acl = std::get<acl_result>(run(owner, get_acl_request{"/x"}).resp.body).acl;
  ASSERT_EQ(acl.size(), 1u);
  EXPECT_EQ(acl[0].scheme, "digest");
  db->set_client_address(other, "127.0.0.1");
  ASSERT_EQ(create(owner, "/ip", "", create_mode::persistent, {{perm::read, "ip", "127.0.0.0/8"}}), error_code::ok);
  EXPECT_EQ(run(other, get_data_request{"/ip", false}).resp.err, error_code::ok);
  db->set_client_address(other, "10.1.1.1");
  EXPECT_EQ(run(other, get_data_request{"/ip", false}).resp.err, error_code::no_auth);
}

TEST_F(acl_table, unknown_auth_scheme_fails_and_superuser_bypasses) {
  EXPECT_EQ(run(other, auth_request{"kerberos", "x"}).resp.err, error_code::auth_failed);
  auto o = opts();
  o.super_digest = digest_of("super:test");
  db = std::make_unique<database>(o, now);
  auto a = open(), b = open();
  run(a, auth_request{"digest", "alice:secret"});
  ASSERT_EQ(create(a, "/private", "s", create_mode::persistent, creator_all_acl()), error_code::ok);
  EXPECT_EQ(run(b, get_data_request{"/private", false}).resp.err, error_code::no_auth);
  run(b, auth_request{"digest", "super:test"});
  EXPECT_EQ(run(b, get_data_request{"/private", false}).resp.err, error_code::ok);
  EXPECT_EQ(run(b, delete_request{"/private", -1}).resp.err, error_code::ok);
}

TEST_F(acl_table, who_am_i_lists_identities) {
  auto out = run(owner, who_am_i_request{});
  auto ids = std::get<auth_list>(out.resp.body);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].scheme, "digest");
  EXPECT_EQ(ids[0].id, "alice");
}
