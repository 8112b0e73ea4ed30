#!/usr/bin/python3
"""Makes the fuzzers' seed corpus (tests/fuzz/corpus/<target>/) from real traffic and real files.

Starts a standalone corral-server on 127.0.0.1 (snapshots every 20 txns), puts a recording proxy in
front of its two client ports, drives it with kazoo (ZooKeeper's protocol) and corral-cli (the native
one), and saves: each direction of each connection (jute_stream, capnp_stream), record payloads cut
from its log (log_entry), the head of a log segment (segment_file) and its snapshots (snapshot_file).
Run it again when a format changes:  tests/fuzz/make_seeds.py build
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Recorder:
    """A proxy on a free port to 127.0.0.1:target that keeps both directions of each connection."""

    def __init__(self, target):
        self.target = target
        self.streams = []  # (client_to_server bytes, server_to_client bytes)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            a, _ = self.sock.accept()
            b = socket.create_connection(("127.0.0.1", self.target))
            rec = [bytearray(), bytearray()]
            self.streams.append(rec)
            threading.Thread(target=self.pump, args=(a, b, rec[0]), daemon=True).start()
            threading.Thread(target=self.pump, args=(b, a, rec[1]), daemon=True).start()

    @staticmethod
    def pump(src, dst, into):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                into.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def save(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def drive_kazoo(port):
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoNodeError
    zk = KazooClient(hosts="127.0.0.1:%d" % port)
    zk.start(timeout=10)
    zk.ensure_path("/seed/a/b")
    zk.create("/seed/eph", b"e", ephemeral=True)
    zk.create("/seed/seq-", b"s", sequence=True)
    zk.set("/seed/a", b"x" * 300)
    zk.get("/seed/a", watch=lambda e: None)
    zk.get_children("/seed", watch=lambda e: None)
    zk.exists("/seed/none", watch=lambda e: None)
    t = zk.transaction()
    t.create("/seed/t1", b"1")
    t.check("/seed/a", 1)
    t.set_data("/seed/a", b"y")
    t.commit()
    zk.sync("/seed")
    zk.get_acls("/seed/a")
    try:
        zk.delete("/seed/none")
    except NoNodeError:
        pass
    zk.add_auth("digest", "user:secret")
    zk.delete("/seed/t1")
    zk.stop()


def drive_cli(cli, port):
    script = "\n".join([
        "create /native data", "create /native/child x", "set /native more", "get /native",
        "ls /native", "stat /native", "getAcl /native", "sync /native", "delete /native/child",
        "create -e /native/eph e", "create -s /native/seq- s", "delete /native/none",
    ] + ["create /native/n%d %s" % (i, "v" * i) for i in range(40)]) + "\n"
    subprocess.run([cli, "--server", "127.0.0.1:%d" % port], input=script.encode(), capture_output=True, timeout=30)


def log_payloads(segment, limit):
    """Record payloads (without the 16-byte header) from a log segment."""
    with open(segment, "rb") as f:
        data = f.read()
    out, at = [], 32
    while at + 16 <= len(data) and len(out) < limit:
        (length,) = struct.unpack_from("<I", data, at)
        if length == 0 or at + 16 + length > len(data):
            break
        out.append(data[at + 16:at + 16 + length])
        at += 16 + length
    return out, at


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    work = tempfile.mkdtemp(prefix="corral-seeds-")
    native, zkport = free_port(), free_port()
    server = subprocess.Popen([os.path.join(build, "corral-server"), "--corral.data-dir=" + work + "/data",
                               "--corral.port=%d" % native, "--corral.zk-port=%d" % zkport,
                               "--corral.snap-count=20", "--corral.log-file=" + work + "/server.log"])
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", native), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        zk_rec, native_rec = Recorder(zkport), Recorder(native)
        drive_kazoo(zk_rec.port)
        drive_cli(os.path.join(build, "corral-cli"), native_rec.port)
        time.sleep(0.5)
        for i, (up, down) in enumerate(zk_rec.streams):
            save("jute_stream", "kazoo-%d-requests" % i, up)
            save("jute_stream", "kazoo-%d-replies" % i, down)
        for i, (up, down) in enumerate(native_rec.streams):
            save("capnp_stream", "cli-%d-requests" % i, up)
            save("capnp_stream", "cli-%d-replies" % i, down)
    finally:
        server.terminate()
        server.wait(timeout=15)
    data = os.path.join(work, "data")
    segments = sorted(f for f in os.listdir(data) if f.startswith("log."))
    payloads, used = log_payloads(os.path.join(data, segments[-1]), 12)
    for i, p in enumerate(payloads):
        save("log_entry", "record-%d" % i, p)
    with open(os.path.join(data, segments[-1]), "rb") as f:
        head = f.read(min(used, 8192))
    save("segment_file", "segment-head", head)
    three = 32 + sum(16 + len(p) for p in payloads[:3])
    save("segment_file", "segment-three-records", head[:three])
    for name in sorted(f for f in os.listdir(data) if f.startswith("snapshot."))[:3]:
        with open(os.path.join(data, name), "rb") as f:
            save("snapshot_file", name, f.read())
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
