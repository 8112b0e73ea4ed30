# The native client protocol: what corral-cli and the actor client library exchange with a server.
# Each frame is one Cap'n Proto message in the standard stream format (segment table + segments) on
# TCP. The client sends ClientFrame (Connect first, then Requests with client-chosen xids, pipelined);
# the server sends ServerFrame (Connected, then Responses in request order and WatchEvents).
# Numbers (error codes, create modes, op codes, event types) are ZooKeeper's.
@0x94c97a3a03a856aa;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("corral::wire");

struct Acl {
  perms @0 :Int32;
  scheme @1 :Text;
  id @2 :Text;
}

struct Stat {
  czxid @0 :Int64;
  mzxid @1 :Int64;
  ctime @2 :Int64;
  mtime @3 :Int64;
  version @4 :Int32;
  cversion @5 :Int32;
  aversion @6 :Int32;
  ephemeralOwner @7 :Int64;
  dataLength @8 :Int32;
  numChildren @9 :Int32;
  pzxid @10 :Int64;
}

struct PathWatch {
  path @0 :Text;
  watch @1 :Bool;
}

struct PathVersion {
  path @0 :Text;
  version @1 :Int32 = -1;
}

struct Create {
  path @0 :Text;
  data @1 :Data;
  acl @2 :List(Acl);
  mode @3 :Int32;
  ttl @4 :Int64 = -1;
  nullData @5 :Bool;     # no data at all (ZooKeeper's null), which is not empty data
}

struct SetData {
  path @0 :Text;
  data @1 :Data;
  version @2 :Int32 = -1;
  nullData @3 :Bool;
}

struct SetAcl {
  path @0 :Text;
  acl @1 :List(Acl);
  version @2 :Int32 = -1;
}

struct MultiOp {
  union {
    create @0 :Create;
    delete @1 :PathVersion;
    setData @2 :SetData;
    check @3 :PathVersion;
  }
}

struct ReadOp {
  union {
    getChildren @0 :PathWatch;
    getData @1 :PathWatch;
  }
}

struct AddWatch {
  path @0 :Text;
  mode @1 :Int32;   # 0 persistent, 1 persistent recursive
}

struct RemoveWatches {
  path @0 :Text;
  type @1 :Int32;   # 1 children, 2 data, 3 any, 4 persistent, 5 persistent recursive
  checkOnly @2 :Bool; # ZooKeeper's checkWatches: NoWatcher if none, but remove nothing
}

struct SetWatches {
  relativeZxid @0 :Int64;
  data @1 :List(Text);
  exist @2 :List(Text);
  child @3 :List(Text);
  persistent @4 :List(Text);
  persistentRecursive @5 :List(Text);
}

struct Auth {
  scheme @0 :Text;
  credentials @1 :Data;
}

# ZooKeeper's ReconfigRequest: servers joining (server lines) and leaving (ids), or the whole new
# membership (core/membership.hpp); an unset field is null.
struct Reconfig {
  joining @0 :Text;
  leaving @1 :Text;
  members @2 :Text;
  fromConfig @3 :Int64 = -1;   # the membership version the client saw; -1: any
}

struct Request {
  xid @0 :Int32;
  union {
    create @1 :Create;
    delete @2 :PathVersion;
    exists @3 :PathWatch;
    getData @4 :PathWatch;
    setData @5 :SetData;
    getAcl @6 :Text;
    setAcl @7 :SetAcl;
    getChildren @8 :PathWatch;
    sync @9 :Text;
    check @10 :PathVersion;
    multi @11 :List(MultiOp);
    multiRead @12 :List(ReadOp);
    getEphemerals @13 :Text;
    getAllChildrenNumber @14 :Text;
    addWatch @15 :AddWatch;
    removeWatches @16 :RemoveWatches;
    setWatches @17 :SetWatches;
    auth @18 :Auth;
    whoAmI @19 :Void;
    ping @20 :Void;
    close @21 :Void;
    reconfig @22 :Void;          # the first form, without fields: a reconfig that changes nothing
    reconfigChange @23 :Reconfig;
  }
}

struct OpResult {
  type @0 :Int32;
  err @1 :Int32;
  path @2 :Text;
  stat @3 :Stat;
  data @4 :Data;
  children @5 :List(Text);
  nullData @6 :Bool;
}

struct Identity {
  scheme @0 :Text;
  id @1 :Text;
}

struct Created {
  path @0 :Text;
  stat @1 :Stat;
}

struct DataResult {
  data @0 :Data;
  stat @1 :Stat;
  nullData @2 :Bool;
}

struct ChildrenResult {
  children @0 :List(Text);
  stat @1 :Stat;
}

struct AclResult {
  acl @0 :List(Acl);
  stat @1 :Stat;
}

struct Response {
  xid @0 :Int32;
  zxid @1 :Int64;
  err @2 :Int32;
  detail @3 :Text;
  union {
    none @4 :Void;
    created @5 :Created;
    stat @6 :Stat;
    data @7 :DataResult;
    children @8 :ChildrenResult;
    acl @9 :AclResult;
    multi @10 :List(OpResult);
    paths @11 :List(Text);
    number @12 :Int32;
    identities @13 :List(Identity);
    path @14 :Text;
  }
}

struct WatchEvent {
  type @0 :Int32;
  state @1 :Int32;
  path @2 :Text;
  zxid @3 :Int64;
}

struct ConnectRequest {
  protocolVersion @0 :Int32;
  lastZxidSeen @1 :Int64;
  timeoutMs @2 :Int32;
  sessionId @3 :Int64;      # 0: a new session
  password @4 :Data;
  readOnly @5 :Bool;
}

struct ConnectResponse {
  err @0 :Int32;            # 0, SessionExpired (-112), or another reason with detail
  detail @1 :Text;
  timeoutMs @2 :Int32;
  sessionId @3 :Int64;
  password @4 :Data;
  lastZxid @5 :Int64;       # the server's last applied zxid
  readOnly @6 :Bool;        # a read-only session: the server is cut off from its quorum
}

struct ClientFrame {
  union {
    connect @0 :ConnectRequest;
    request @1 :Request;
  }
}

struct ServerFrame {
  union {
    connected @0 :ConnectResponse;
    response @1 :Response;
    event @2 :WatchEvent;
  }
}
