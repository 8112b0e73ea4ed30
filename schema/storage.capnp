# What Corral writes to disk: transaction log records and snapshot frames. Each is one Cap'n Proto
# message in flat form (no segment table), framed by persistence/ with a length and a CRC32C.
@0xc7d1f0e24a6b3905;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("corral::storage");

struct Acl {
  perms @0 :Int32;
  scheme @1 :Text;
  id @2 :Text;
}

struct CreateTxn {
  path @0 :Text;
  data @1 :Data;
  acl @2 :List(Acl);
  ephemeralOwner @3 :Int64;
  parentCversion @4 :Int32;
  nullData @5 :Bool;     # no data at all (ZooKeeper's null), which is not empty data
}

struct SetDataTxn {
  path @0 :Text;
  data @1 :Data;
  version @2 :Int32;
  nullData @3 :Bool;
}

struct SetAclTxn {
  path @0 :Text;
  acl @1 :List(Acl);
  version @2 :Int32;
}

struct CheckTxn {
  path @0 :Text;
  version @1 :Int32;
}

struct ErrorTxn {
  err @0 :Int32;
  detail @1 :Text;
}

struct TxnOp {
  union {
    create @0 :CreateTxn;
    delete @1 :Text;
    setData @2 :SetDataTxn;
    setAcl @3 :SetAclTxn;
    check @4 :CheckTxn;
    error @5 :ErrorTxn;
  }
}

struct CreateSessionTxn {
  timeoutMs @0 :Int32;
  password @1 :Data;
}

# One log record: a txn, or a digest check (the tree's digest after applying txn `zxid`, written
# after the fact: digests are known only once a txn is applied, and txns are logged before that).
struct TxnRecord {
  zxid @0 :Int64;
  time @1 :Int64;
  session @2 :Int64;
  cxid @3 :Int32;
  digest @4 :UInt64;      # digestCheck only
  union {
    create @5 :CreateTxn;
    delete @6 :Text;
    setData @7 :SetDataTxn;
    setAcl @8 :SetAclTxn;
    check @9 :CheckTxn;
    error @10 :ErrorTxn;
    multi @11 :List(TxnOp);
    createSession @12 :CreateSessionTxn;
    closeSession @13 :List(Text);   # the ephemerals it deletes
    digestCheck @14 :Void;
    reconfig @15 :Text;             # the new membership in /zookeeper/config's form (core/membership)
  }
}

struct SessionImage {
  id @0 :Int64;
  timeoutMs @1 :Int32;
  password @2 :Data;
}

struct NodeImage {
  path @0 :Text;
  data @1 :Data;
  aclIndex @2 :UInt32;   # into the chunk's ACL table
  czxid @3 :Int64;
  mzxid @4 :Int64;
  pzxid @5 :Int64;
  ctime @6 :Int64;
  mtime @7 :Int64;
  ephemeralOwner @8 :Int64;
  version @9 :Int32;
  cversion @10 :Int32;   # the stored count of child creates
  aversion @11 :Int32;
  nullData @12 :Bool;    # see CreateTxn
}

struct AclList {
  entries @0 :List(Acl);
}

# A snapshot is a header frame, node chunks in pre-order, and a trailer frame. Each chunk carries the
# ACLs its nodes use once (a million znodes usually share a handful of ACLs).
struct SnapshotFrame {
  union {
    header :group {
      dbId @0 :UInt64;
      startZxid @1 :Int64;    # the last applied txn when the snapshot began: replay from the next one
      sessions @2 :List(SessionImage);
    }
    chunk :group {
      nodes @3 :List(NodeImage);
      acls @7 :List(AclList);
    }
    trailer :group {
      endZxid @4 :Int64;      # the last applied txn when it ended
      nodeCount @5 :UInt64;
      digestAtEnd @6 :UInt64; # the live tree's digest at endZxid
    }
  }
}
