"""kazoo's recipes, driven line by line from standard input, so that kazoo_interop_test.cpp can hold a
kazoo lock or barrier while a Corral recipe works on the same path (as CuratorDriver.java does for
Curator). Run as: python3 kazoo_driver.py HOST:PORT [read-only]. Prints READY, then one answer line
per command. With read-only, the client allows read-only sessions (KazooClient(read_only=True)).

kazoo's locks see other clients' nodes only through extra_lock_patterns (kazoo 2.7.1+): "-lock-" for
Curator's and Corral's mutex nodes, "__READ__" / "__WRIT__" for their read/write lock nodes.
  lock P MS | unlock P            Lock                      -> ACQUIRED | TIMEOUT, RELEASED
  read P MS | unread P            ReadLock                  -> ACQUIRED | TIMEOUT, RELEASED
  write P MS | unwrite P          WriteLock                 -> ACQUIRED | TIMEOUT, RELEASED
  bset P | bremove P | bwait P MS Barrier                   -> SET, REMOVED, PASSED | TIMEOUT
  create P null|empty|TEXT | set P null|empty|TEXT          -> CREATED, SET
  get P                                                     -> NULL | DATA <text>  (None apart from b"")
  state                                                     -> kazoo's client_state (CONNECTED_RO, ...)
  await STATE MS                                            -> STATE | TIMEOUT <state>
  states                                                    -> the listener's states so far, comma-separated
  auth SCHEME CREDENTIALS                                   add_auth                  -> AUTHED
  reconfig JOINING|- LEAVING|-                              reconfig (- for None)     -> CONFIG <lines, comma-separated>
  quit
Errors print "ERROR <exception>" and the driver goes on.
"""
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import LockTimeout

read_only = len(sys.argv) > 2 and sys.argv[2] == "read-only"
client = KazooClient(hosts=sys.argv[1], timeout=10.0, read_only=read_only)
states = []
client.add_listener(lambda state: states.append(str(state)))
client.start(timeout=20)
locks = {}


def lock(kind, path):
    key = (kind, path)
    if key not in locks:
        if kind == "lock":
            locks[key] = client.Lock(path, "kazoo", extra_lock_patterns=["-lock-"])
        elif kind == "read":
            locks[key] = client.ReadLock(path, "kazoo", extra_lock_patterns=["__WRIT__"])
        else:
            locks[key] = client.WriteLock(path, "kazoo", extra_lock_patterns=["__READ__", "__WRIT__"])
    return locks[key]


def run(w):
    cmd, path = w[0], w[1] if len(w) > 1 else "/"
    if cmd in ("lock", "read", "write"):
        try:
            return "ACQUIRED" if lock(cmd, path).acquire(timeout=int(w[2]) / 1000.0) else "TIMEOUT"
        except LockTimeout:
            return "TIMEOUT"
    if cmd in ("unlock", "unread", "unwrite"):
        lock(cmd[2:] if cmd != "unlock" else "lock", path).release()
        return "RELEASED"
    if cmd == "bset":
        client.Barrier(path).create()
        return "SET"
    if cmd == "bremove":
        client.Barrier(path).remove()
        return "REMOVED"
    if cmd in ("create", "set"):
        value = {"null": None, "empty": b""}.get(w[2], w[2].encode())
        if cmd == "create":
            client.create(path, value)
            return "CREATED"
        client.set(path, value)
        return "SET"
    if cmd == "get":
        value, _ = client.get(path)
        return "NULL" if value is None else "DATA " + value.decode()
    if cmd == "state":
        return str(client.client_state)
    if cmd == "await":
        deadline = time.time() + int(w[2]) / 1000.0
        while str(client.client_state) != w[1] and time.time() < deadline:
            time.sleep(0.05)
        return w[1] if str(client.client_state) == w[1] else "TIMEOUT " + str(client.client_state)
    if cmd == "states":
        return ",".join(states)
    if cmd == "auth":
        client.add_auth(w[1], w[2])
        return "AUTHED"
    if cmd == "reconfig":
        joining, leaving = [None if x == "-" else x for x in w[1:3]]
        data, _ = client.reconfig(joining=joining, leaving=leaving, new_members=None)
        return "CONFIG " + ",".join(data.decode().splitlines())
    if cmd == "bwait":
        return "PASSED" if client.Barrier(path).wait(timeout=int(w[2]) / 1000.0) else "TIMEOUT"
    return "ERROR unknown command " + cmd


print("READY", flush=True)
for line in sys.stdin:
    w = line.split()
    if not w:
        continue
    if w[0] == "quit":
        break
    try:
        answer = run(w)
    except Exception as e:  # the test reads the error and goes on
        answer = "ERROR %r" % (e,)
    print(answer, flush=True)
client.stop()
client.close()
