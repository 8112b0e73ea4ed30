# Server <-> server: the ZAB protocol between the servers of an ensemble. One TCP connection per
# server pair carries a stream of PeerFrame messages in Cap'n Proto's stream format; the connecting
# side sends Hello first. Txns travel as the same TxnRecord the log stores.
@0xfd7997520807bae2;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("corral::peerwire");

using Storage = import "storage.capnp";
using Client = import "client.capnp";

struct Vote {
  leader @0 :Int64;
  zxid @1 :Int64;
  epoch @2 :UInt64;
}

# An ensemble's membership (core/membership.hpp).
struct Member {
  id @0 :Int64;
  host @1 :Text;
  quorumPort @2 :UInt16;
  clientPort @3 :UInt16;
  zkPort @4 :Int32;
  observer @5 :Bool;
}
struct Membership {
  version @0 :Int64;             # the zxid of the reconfig that made it; 0: the static one
  members @1 :List(Member);
}

struct Entry {
  zxid @0 :Int64;
  txn @1 :Storage.TxnRecord;
}

struct ZabMessage {
  from @0 :Int64;
  to @1 :Int64;
  epoch @2 :UInt64;
  union {
    notification :group {
      vote @3 :Vote;
      round @4 :UInt64;
      senderRole @5 :UInt8;        # 0 looking, 1 following, 2 leading, 3 observing
      config @31 :Membership;      # the sender's active membership
    }
    followerInfo :group {
      acceptedEpoch @6 :UInt64;
      lastZxid @7 :Int64;
      observer @8 :Bool;
      attempt @28 :UInt64;
    }
    leaderInfo @9 :UInt64;         # the new epoch
    ackEpoch :group {
      currentEpoch @10 :UInt64;
      lastZxid @11 :Int64;
      logStart @12 :Int64;
      epochEnds @13 :List(Int64);
    }
    catchUp :group {               # DIFF, TRUNC or SNAP, then NEWLEADER
      how @14 :UInt8;              # 0 diff, 1 trunc, 2 snap
      truncTo @15 :Int64;
      snapZxid @16 :Int64;
      snapshot @17 :Data;          # a snapshot file's bytes (SNAP only)
      entries @18 :List(Entry);
      commit @19 :Int64;
      newEpoch @20 :UInt64;
      active @30 :Membership;      # the leader's active (committed) membership
    }
    ack @21 :Int64;
    upToDate @22 :Int64;
    proposal @23 :Entry;
    commit @24 :Int64;
    inform @25 :Entry;
    ping @26 :Int64;
    pong @27 :Void;
    ackNewLeader @29 :UInt64;      # the epoch whose catch-up the learner logged and adopted
  }
}

# A learner's client write, forwarded to the leader with what the leader needs to prepare it as
# that session: its identities (proven with addauth, and ("ip", client address) for the ip scheme).
struct ForwardedRequest {
  session @0 :Int64;
  request @1 :Client.Request;
  auth @2 :List(Client.Identity);
}

struct PeerFrame {
  union {
    hello :group {                  # initiator -> acceptor, first
      serverId @0 :Int64;
      protocolVersion @1 :UInt32;
      nonce @11 :Data;
    }
    zab @2 :ZabMessage;
    forward @3 :ForwardedRequest;   # learner -> leader
    openSession :group {            # learner -> leader: a session the learner's client asked for
      sessionId @4 :Int64;
      timeoutMs @5 :Int32;
      password @6 :Data;
    }
    touch @7 :List(Int64);          # learner -> leader: sessions active since the last report
    syncRequest @8 :UInt64;         # learner -> leader: a token to echo
    syncReply :group {              # leader -> learner, after the COMMITs already sent
      token @9 :UInt64;
      zxid @10 :Int64;
    }
    challenge :group {              # acceptor -> initiator, the answer to hello
      serverId @12 :Int64;
      nonce @13 :Data;
      proof @14 :Data;              # empty without a shared secret
    }
    proof @15 :Data;                # initiator -> acceptor: the answer to challenge

  }
}
