"""kazoo (Python's ZooKeeper client, Debian's python3-kazoo) against a Corral server's ZooKeeper port.

Run by zookeeper_tests (zk_client_test.kazoo_recipes_work): python3 kazoo_recipes.py HOST:PORT.
Exercises what kazoo's users rely on: CRUD with versions, DataWatch and ChildrenWatch, transactions,
and the recipes built on ephemeral sequential nodes (Lock, Election, Counter, Barrier). Prints one line
per check and "ALL OK" at the end; any failure raises and exits non-zero.
"""
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, ConnectionClosedError, NoNodeError, NodeExistsError

HOSTS = sys.argv[1]
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1
    print("ok:", what, flush=True)


def wait_for(pred, seconds=10.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def client():
    c = KazooClient(hosts=HOSTS, timeout=10.0)
    c.start(timeout=15)
    return c


a = client()
b = client()

# CRUD with versions.
a.ensure_path("/kz/app")
a.create("/kz/app/conf", b"v1")
data, stat = a.get("/kz/app/conf")
check(data == b"v1" and stat.version == 0, "create and get")
try:
    a.create("/kz/app/conf", b"again")
    check(False, "NodeExists")
except NodeExistsError:
    check(True, "a second create is NodeExists")
try:
    a.set("/kz/app/conf", b"v2", version=7)
    check(False, "BadVersion")
except BadVersionError:
    check(True, "set at a wrong version is BadVersion")
stat = a.set("/kz/app/conf", b"v2", version=0)
check(stat.version == 1, "set at the right version moves the version")
try:
    a.get("/kz/missing")
    check(False, "NoNode")
except NoNodeError:
    check(True, "get of a missing node is NoNode")

# DataWatch and ChildrenWatch (kazoo re-arms them after every event).
seen_data = []
seen_children = []
b.DataWatch("/kz/app/conf", lambda data, stat: seen_data.append(data))
b.ChildrenWatch("/kz/app", lambda children: seen_children.append(sorted(children)))
check(wait_for(lambda: seen_data and seen_data[-1] == b"v2"), "DataWatch sees the current value")
a.set("/kz/app/conf", b"v3")
check(wait_for(lambda: seen_data[-1] == b"v3"), "DataWatch sees a change")
a.set("/kz/app/conf", b"v4")
check(wait_for(lambda: seen_data[-1] == b"v4"), "DataWatch sees a second change (re-armed)")
a.create("/kz/app/worker-", b"", ephemeral=True, sequence=True)
check(wait_for(lambda: len(seen_children[-1]) == 2), "ChildrenWatch sees a new child")

# Transactions (multi): all or nothing.
t = a.transaction()
t.create("/kz/tx1", b"1")
t.check("/kz/app/conf", 99)
results = t.commit()
check(not a.exists("/kz/tx1") and any(isinstance(r, BadVersionError) for r in results),
      "a failed transaction changes nothing")
t = a.transaction()
t.create("/kz/tx1", b"1")
t.set_data("/kz/app/conf", b"v5")
results = t.commit()
check(results[0] == "/kz/tx1" and a.get("/kz/app/conf")[0] == b"v5", "a transaction commits every op")

# Lock: the second holder waits for the first.
order = []
lock_a = a.Lock("/kz/lock", "a")
lock_b = b.Lock("/kz/lock", "b")
lock_a.acquire()


def take_b():
    with lock_b:
        order.append("b")


th = threading.Thread(target=take_b)
th.start()
time.sleep(0.3)
order.append("a")
check(order == ["a"], "the second contender waits while the lock is held")
check(len(lock_a.contenders()) == 2, "both contenders are listed")
lock_a.release()
th.join(10)
check(order == ["a", "b"], "the lock passes to the waiting contender")

# Election: one leader; when it leaves, the other leads.
leaders = []
stop = threading.Event()


def run_for(client_, name):
    def lead():
        leaders.append(name)
        stop.wait(10)
    try:
        client_.Election("/kz/election", name).run(lead)
    except ConnectionClosedError:
        pass  # the leader's client was stopped under it: that is how this leader leaves


c = client()
t1 = threading.Thread(target=run_for, args=(c, "c"))
t1.start()
check(wait_for(lambda: leaders == ["c"]), "the first candidate leads")
t2 = threading.Thread(target=run_for, args=(b, "b"))
t2.start()
time.sleep(0.3)
check(leaders == ["c"], "only one leader at a time")
c.stop()  # the leader's session ends; its ephemeral goes
c.close()
check(wait_for(lambda: leaders == ["c", "b"]), "the next candidate leads when the leader leaves")
stop.set()
t2.join(10)

# Counter: compare-and-set on versions.
counter = a.Counter("/kz/counter")
counter += 5
counter2 = b.Counter("/kz/counter")
counter2 += 2
check(a.Counter("/kz/counter").value == 7, "counter increments from two clients")

# Ephemerals go when a session stops.
b.create("/kz/b-was-here", b"", ephemeral=True)
b.stop()
b.close()
check(wait_for(lambda: a.exists("/kz/b-was-here") is None), "a stopped session's ephemerals are gone")

a.delete("/kz", recursive=True)
check(a.exists("/kz") is None, "recursive delete")
a.stop()
a.close()
print("ALL OK", checks, "checks")
