#!/usr/bin/env python3
"""Corral and Apache ZooKeeper 3.8 side by side, in one run on this machine.

Starts both systems with the same layout on 127.0.0.1 (standalone, then 3 voters), drives both with
the same ZooKeeper-protocol load generator (build/corral-zkbench, with ZooKeeper's own C client and
with its raw batching client), one cell at a time, alternating which system goes first, and prints
one Markdown table per section with the ratio Corral / ZooKeeper. Every load cell runs --rounds times
(all rounds of an op before the next op) and the tables give medians, the ratios with their range:

  load       create / set / get at 1x1, 4x64 and 8x128 in flight (sessions x per session):
             ops/s, latency p50 / p99 / p99.9, server CPU per op (utime + stime of every server
             process, from /proc), the generator's CPU per op, and how busy the machine was
  idle       CPU of each system's servers with no client traffic
  footprint  RSS growth per 100-byte znode at 100k and 1M znodes, snapshot size
  restart    time to answer a read after kill -9 and after a clean stop, 100k and 1M znodes
  failover   kill -9 of the leader (build/corral-failover, both systems, 3 voters)

ZooKeeper is Debian's package (zkServer.sh start-foreground, fsync on, its defaults otherwise, a fixed
heap: --zk-heap). Corral runs with its defaults (every write fsynced before its answer).

  tools/bench-compare.py                               # everything (about 35 minutes)
  tools/bench-compare.py --rounds 1                    # each load cell once (about 15 minutes)
  tools/bench-compare.py --sections load --layouts standalone --ops set --shapes 4x64 --clients c
  tools/bench-compare.py --corral-arg=--scheduler.policy=sharing --systems corral   # try a setting

Needs a Release build in build/ and the zookeeper and libzookeeper-mt-dev packages
(tools/dev.sh test installs them). A measurement tool, not a test: it asserts nothing.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

SUMMARY = []  # (layout, op, shape, client, system kind, figures) of every load cell
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HZ = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
ZK_SCRIPT = "/usr/share/zookeeper/bin/zkServer.sh"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- /proc ----

def cpu_seconds(pid):
    """utime + stime of a process in seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ
    except OSError:
        return 0.0


def rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def machine_busy():
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


# ---- a minimal ZooKeeper client: connect, then getData ----

def _frame(payload):
    return struct.pack(">i", len(payload)) + payload


def _read_frame(sock):
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            raise OSError("closed")
        head += chunk
    (n,) = struct.unpack(">i", head)
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            raise OSError("closed")
        body += chunk
    return body


def answers_read(port, path="/", timeout=1.0):
    """True if the server at port opens a session and answers getData(path) without an error."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(_frame(struct.pack(">iqiqi", 0, 0, 30000, 0, 16) + b"\0" * 16))
            _read_frame(s)
            p = path.encode()
            s.sendall(_frame(struct.pack(">ii", 1, 4) + struct.pack(">i", len(p)) + p + b"\0"))
            while True:
                body = _read_frame(s)
                xid, _zxid, err = struct.unpack(">iqi", body[:16])
                if xid == 1:
                    return err == 0
    except OSError:
        return False


def settle():
    """Before each cell: the disk and the machine start quiet. Both systems share one disk and one
    machine, and what a cell leaves behind (dirty pages, ZooKeeper's log preallocation and
    snapshots, its JIT and GC threads) should not be measured in the next one."""
    os.sync()
    time.sleep(1)


def wait_serving(port, deadline_s, path="/"):
    """Seconds until the server answers a read, polling every 10 ms; None after deadline_s."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if answers_read(port, path, timeout=0.5):
            return time.monotonic() - start
        time.sleep(0.01)
    return None


# ---- the two systems ----

class Server:
    def __init__(self, sid, directory):
        self.sid = sid
        self.dir = directory
        self.zk_port = free_port()
        self.port = free_port()  # Corral's native port (unused by ZooKeeper)
        self.quorum_port = free_port()
        self.election_port = free_port()
        self.proc = None
        self.cmd = None
        self.env = None

    def start(self):
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return time.monotonic()

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class System:
    """n servers of one kind on 127.0.0.1, each with its own directory under work."""

    def __init__(self, kind, n, work, args):
        self.kind = kind
        self.name = "Corral" if kind == "corral" else "ZooKeeper"
        self.args = args
        self.servers = []
        for i in range(1, n + 1):
            d = os.path.join(work, f"{kind}-{n}-{i}")
            os.makedirs(os.path.join(d, "data"), exist_ok=True)
            self.servers.append(Server(i, d))
        for s in self.servers:
            s.cmd, s.env = self._command(s)

    def _command(self, s):
        if self.kind == "corral":
            cmd = [os.path.join(self.args.build, "corral-server"), f"--corral.data-dir={s.dir}/data",
                   f"--corral.port={s.port}", f"--corral.zk-port={s.zk_port}", "--corral.max-client-cnxns=0", "--corral.four-letter-words=srvr",
                   f"--corral.log-file={s.dir}/server.log"]
            if len(self.servers) > 1:
                members = ",".join(f'"{t.sid}=127.0.0.1:{t.port}:{t.quorum_port};{t.zk_port}"' for t in self.servers)
                cmd += [f"--corral.server-id={s.sid}", f"--corral.ensemble=[{members}]"]
            return cmd + self.args.corral_arg, None
        cfg = (f"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={s.dir}/data\nclientPort={s.zk_port}\n"
               "clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n"
               "4lw.commands.whitelist=srvr\n")
        if len(self.servers) > 1:
            cfg += "".join(f"server.{t.sid}=127.0.0.1:{t.quorum_port}:{t.election_port}\n" for t in self.servers)
            with open(os.path.join(s.dir, "data", "myid"), "w") as f:
                f.write(f"{s.sid}\n")
        with open(os.path.join(s.dir, "zoo.cfg"), "w") as f:
            f.write(cfg)
        env = dict(os.environ, ZOO_LOG_DIR=s.dir, ZOOCFGDIR=s.dir,
                   SERVER_JVMFLAGS=f"-Xms{self.args.zk_heap} -Xmx{self.args.zk_heap}")
        return [ZK_SCRIPT, "start-foreground", os.path.join(s.dir, "zoo.cfg")], env

    def start(self):
        for s in self.servers:
            s.start()
        for s in self.servers:
            if wait_serving(s.zk_port, 120) is None:
                raise RuntimeError(f"{self.name} server {s.sid} did not serve within 120 s; see {s.dir}")

    def stop(self, sig=signal.SIGTERM):
        for s in self.servers:
            s.stop(sig)

    def pids(self):
        return [s.proc.pid for s in self.servers if s.proc]

    def cpu(self):
        return sum(cpu_seconds(p) for p in self.pids())

    def leader(self):
        """The server a client should write to: the leader (srvr says so), or the only one."""
        if len(self.servers) == 1:
            return self.servers[0]
        for s in self.servers:
            try:
                with socket.create_connection(("127.0.0.1", s.zk_port), timeout=2) as c:
                    c.sendall(b"srvr")
                    text = b""
                    while chunk := c.recv(4096):
                        text += chunk
                if b"Mode: leader" in text:
                    return s
            except OSError:
                pass
        raise RuntimeError(f"no {self.name} server says it leads")


# ---- the load generator ----

def zkbench(args, port, op, sessions, inflight, client, duration, root=None, keys=None):
    cmd = [os.path.join(args.build, "corral-zkbench"), f"--server=127.0.0.1:{port}", f"--op={op}",
           f"--sessions={sessions}", f"--inflight={inflight}", f"--duration-s={duration}", f"--client={client}",
           f"--value-bytes={args.value_bytes}", f"--keys={keys or args.keys}", "--json"]
    if root:
        cmd.append(f"--root={root}")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped here; errors and failed sessions are in the JSON
    lines = [l for l in out.decode().splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"corral-zkbench printed no result: {err.decode()[-500:]}")
    result = json.loads(lines[-1])
    result["client_cpu_s"] = usage.ru_utime + usage.ru_stime
    return result


class FsyncCounter:
    """Counts the fdatasync and fsync calls of the given processes (perf's syscall tracepoints), if
    perf can; count() is None otherwise."""

    def __init__(self, pids):
        self.proc = None
        if shutil.which("perf") and pids:
            self.proc = subprocess.Popen(
                ["perf", "stat", "-x,", "-e", "syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync",
                 "-p", ",".join(str(p) for p in pids)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.2)  # perf attaches

    def count(self):
        if not self.proc:
            return None
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate()
        total = 0
        for line in err.decode().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and "sys_enter_f" in fields[2] and fields[0].isdigit():
                total += int(fields[0])
        return total if self.proc.returncode == 0 or total else None


def measured(system, fn):
    """Runs fn() and returns (its result, server CPU seconds, machine busy fraction, seconds)."""
    cpu0, (b0, t0), w0 = system.cpu(), machine_busy(), time.monotonic()
    r = fn()
    cpu1, (b1, t1), w1 = system.cpu(), machine_busy(), time.monotonic()
    return r, cpu1 - cpu0, (b1 - b0) / max(1, t1 - t0), w1 - w0


# ---- sections ----

def ratio(c, z, lower_is_better=False):
    if not c or not z:
        return "-"
    return f"{(c / z):.2f}" + (" (lower is better)" if lower_is_better else "")


def median_row(rows):
    """One cell's figures over its rounds: the median of each number, errors summed."""
    out = {}
    for k in rows[0]:
        vals = [r[k] for r in rows]
        if k in ("errors", "failed_sessions"):
            out[k] = sum(vals)
        elif k == "per_sync":
            nums = [float(v) for v in vals if v != "-"]
            out[k] = f"{statistics.median(nums):.1f}" if nums else "-"
        elif all(isinstance(v, (int, float)) for v in vals):
            out[k] = statistics.median(vals)
        else:
            out[k] = vals[0]
    return out


def spread(values, fmt="{:.2f}"):
    """'median (min-max)' of per-round figures; just the figure for one round."""
    m = fmt.format(statistics.median(values))
    return m if len(values) < 2 else f"{m} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def run_cell(args, layout, sysm, roots, op, sessions, inflight, client):
    target, root = roots[sysm.kind]
    settle()
    log(f"{sysm.name} {layout}: {op} {sessions}x{inflight} {client} client")
    fsyncs = FsyncCounter(sysm.pids() if op != "get" else [])
    r, server_cpu, busy, secs = measured(sysm, lambda: zkbench(
        args, target.zk_port, op, sessions, inflight, client, args.duration, root=root))
    syncs = fsyncs.count()
    ops = max(1, r["ops"])
    # Every server logs every write: per server, writes per fsync.
    per_sync = f"{ops * len(sysm.servers) / syncs:.1f}" if syncs else "-"
    return dict(r, server_us=server_cpu * 1e6 / ops, client_us=r["client_cpu_s"] * 1e6 / ops, busy=busy,
                per_sync=per_sync)


def section_load(args, layout, systems):
    n = 1 if layout == "standalone" else 3
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"\n### Load, {layout} ({n} server{'s' if n > 1 else ''}), {args.value_bytes}-byte values, "
          f"{args.keys} keys, {args.duration} s per cell{rounds}\n")
    if args.rounds > 1:
        print("Each cell ran once per round, the systems alternating; figures are the median over the rounds, and "
              "the ratio column gives the median of the rounds' ratios with their lowest and highest.\n")
    print("| op | in flight | generator | system | ops/s | p50 / p99 / p99.9 ms | server CPU per op | "
          "generator CPU per op | writes per fsync | machine busy | Corral / ZK |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    roots = {}
    for sysm in systems:
        target = sysm.leader()
        root = f"/bench-{os.getpid()}"
        log(f"{sysm.name} {layout}: creating {args.keys} keys under {root}")
        zkbench(args, target.zk_port, "populate", 4, 64, "raw", 1, root=root)
        roots[sysm.kind] = (target, root)
        # ZooKeeper's JIT needs traffic before it is at its best; both get the same.
        for op in args.ops:
            log(f"{sysm.name} {layout}: warming up with {op} for {args.warmup} s")
            zkbench(args, target.zk_port, op, 4, 64, "raw", args.warmup, root=root)
    flip = False
    # All rounds of one op before the next: creates grow the tree (and the cost of every snapshot), so
    # every round of get and set runs before the first create.
    for op in args.ops:
        cells = {}  # (shape, client) -> system kind -> one row per round
        for _ in range(args.rounds):
            for shape in args.shapes:
                sessions, inflight = (int(x) for x in shape.split("x"))
                for client in args.clients:
                    order = list(reversed(systems)) if flip else systems
                    flip = not flip
                    for sysm in order:
                        row = run_cell(args, layout, sysm, roots, op, sessions, inflight, client)
                        cells.setdefault((shape, client), {}).setdefault(sysm.kind, []).append(row)
        for (shape, client), by_kind in cells.items():
            for sysm in systems:
                x = median_row(by_kind[sysm.kind])
                other = by_kind.get("zookeeper" if sysm.kind == "corral" else "corral")
                rat = ""
                if sysm.kind == "corral" and other:
                    pairs = list(zip(by_kind["corral"], other))
                    ops_r = [c["ops_per_s"] / max(1, z["ops_per_s"]) for c, z in pairs]
                    cpu_r = [c["server_us"] / max(1e-9, z["server_us"]) for c, z in pairs]
                    rat = f"{spread(ops_r)} ops/s, {spread(cpu_r)} CPU"
                err = f" ({x['errors']} errors)" if x["errors"] else ""
                if x["failed_sessions"]:
                    err += f" ({x['failed_sessions']} sessions failed)"
                SUMMARY.append((layout, op, shape, client, sysm.kind, x))
                print(f"| {op} | {shape} | {client} | {sysm.name} | {x['ops_per_s']:,.0f}{err} | "
                      f"{x['p50_ms']:.2f} / {x['p99_ms']:.2f} / {x['p999_ms']:.2f} | {x['server_us']:.1f} us | "
                      f"{x['client_us']:.1f} us | {x['per_sync']} | {100 * x['busy']:.0f}% | {rat} |", flush=True)


def section_summary(args):
    """Corral / ZooKeeper for every load cell, and the issue's targets beside them."""
    cells = {}
    for layout, op, shape, client, kind, x in SUMMARY:
        cells.setdefault((layout, op, shape, client), {})[kind] = x
    if not any(len(v) == 2 for v in cells.values()):
        return
    print("\n### Summary: Corral / ZooKeeper per cell (throughput: higher is better; CPU per op and p50: "
          "lower is better)\n")
    print("| layout | op | in flight | generator | throughput | server CPU per op | p50 latency |")
    print("|---|---|---|---|---|---|---|")
    for (layout, op, shape, client), v in cells.items():
        if len(v) < 2:
            continue
        c, z = v["corral"], v["zookeeper"]
        print(f"| {layout} | {op} | {shape} | {client} | {c['ops_per_s'] / max(1, z['ops_per_s']):.2f}x | "
              f"{c['server_us'] / max(1e-9, z['server_us']):.2f} | {c['p50_ms'] / max(1e-9, z['p50_ms']):.2f} |")


def fsync_p50_ms(directory):
    """Median time of a 4 KiB append + fdatasync in directory: the floor under a durable write."""
    path = os.path.join(directory, "fsync-probe")
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(200):
            t = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fdatasync(fd)
            times.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    return sorted(times)[len(times) // 2] * 1000


def section_idle(args, layout, systems):
    print(f"\n### Idle, {layout}: server CPU with no client traffic over {args.idle} s (after 5 s of rest)\n")
    print("| system | servers | CPU (share of one core, all servers) | per server |")
    print("|---|---|---|---|")
    for sysm in systems:
        time.sleep(5)
        _, cpu, _, secs = measured(sysm, lambda: time.sleep(args.idle))
        n = len(sysm.servers)
        print(f"| {sysm.name} | {n} | {100 * cpu / secs:.2f}% | {100 * cpu / secs / n:.2f}% |", flush=True)


def newest_snapshot_bytes(sysm):
    d = os.path.join(sysm.servers[0].dir, "data")
    best = (0, 0)
    for base, _dirs, files in os.walk(d):
        for f in files:
            if f.startswith("snapshot.") and not f.endswith(".tmp"):  # a .tmp one is being written
                p = os.path.join(base, f)
                best = max(best, (os.path.getmtime(p), os.path.getsize(p)))
    return best[1]


def section_footprint_and_restart(args, work):
    """Standalone servers: RSS growth per znode and restart times at each size in args.sizes."""
    print(f"\n### Footprint and restart, standalone, {args.value_bytes}-byte znodes in one folder\n")
    # Growth per znode counts everything the server allocated while the znodes were created (its
    # buffers too); "per znode added" is the growth since the previous size over the znodes added
    # since, which leaves the fixed costs out.
    print("| znodes | system | RSS growth per znode | per znode added | RSS | newest snapshot | "
          "restart after kill -9 | restart after a clean stop |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in args.systems:
        sysm = System(kind, 1, os.path.join(work, "footprint"), args)
        sysm.start()
        s = sysm.servers[0]
        base = rss_bytes(s.proc.pid)
        have = 0
        prev_rss = base
        root = "/fp"
        for size in args.sizes:
            log(f"{sysm.name}: creating znodes {have}..{size}")
            # populate creates keys 0..size-1; the ones that exist already fail fast with NodeExists.
            zkbench(args, s.zk_port, "populate", 4, 64, "raw", 1, root=root, keys=size)
            have_before, have = have, size
            time.sleep(2)
            rss = rss_bytes(s.proc.pid)
            probe = f"{root}/k{size - 1}"
            times = []
            for sig in (signal.SIGKILL, signal.SIGTERM):
                s.stop(sig)
                start = s.start()
                t = wait_serving(s.zk_port, 600, probe)
                times.append(t if t is None else time.monotonic() - start)
            snap = newest_snapshot_bytes(sysm)
            fmt = lambda t: "did not serve" if t is None else f"{t:.2f} s"
            added = (rss - prev_rss) / (size - have_before)
            print(f"| {size:,} | {sysm.name} | {(rss - base) / size:.0f} B | {added:.0f} B | {rss / 2**20:.0f} MiB | "
                  f"{snap / 2**20:.1f} MiB | {fmt(times[0])} | {fmt(times[1])} |", flush=True)
            # The restarts replaced the process: the next size's growth starts from this one's RSS.
            base_note = prev_rss = rss_bytes(s.proc.pid)
            log(f"{sysm.name}: RSS after restart {base_note / 2**20:.0f} MiB")
        sysm.stop()


def section_failover(args):
    print(f"\n### Failover: kill -9 of the leader, 3 voters and 1 observer, {args.kills} kills each\n")
    print("| system | result |")
    print("|---|---|")
    tool = os.path.join(args.build, "corral-failover")
    for kind in args.systems:
        cmd = [tool, f"--kills={args.kills}"]
        cmd += (["--system=zookeeper"] if kind == "zookeeper"
                else [f"--server-bin={os.path.join(args.build, 'corral-server')}", "--client=zk"])
        out = subprocess.run(cmd, capture_output=True, text=True)
        line = (out.stdout.strip().splitlines() or ["no output: " + out.stderr[-300:]])[-1]
        print(f"| {'Corral (ZooKeeper C client)' if kind == 'corral' else 'ZooKeeper'} | {line} |", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(HERE, "build"))
    p.add_argument("--sections", default="load,idle,footprint,failover")
    p.add_argument("--layouts", default="standalone,ensemble")
    p.add_argument("--systems", default="corral,zookeeper")
    # Creates grow the tree (and with it the cost of every snapshot), so they go last.
    p.add_argument("--ops", default="get,set,create")
    p.add_argument("--shapes", default="1x1,4x64,8x128")
    p.add_argument("--clients", default="c,raw")
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3,
                   help="runs of every load cell (the median is reported): one 5 s cell moves 10-30%% between runs")
    p.add_argument("--idle", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3, help="seconds of each op before a layout's cells")
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--value-bytes", type=int, default=100)
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--zk-heap", default="2g")
    p.add_argument("--corral-arg", action="append", default=[])
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    for k in ("sections", "layouts", "systems", "ops", "shapes", "clients"):
        setattr(args, k, [x for x in getattr(args, k).split(",") if x])
    args.sizes = [int(x) for x in args.sizes.split(",") if x]
    for tool in ("corral-server", "corral-zkbench", "corral-failover"):
        if not os.access(os.path.join(args.build, tool), os.X_OK):
            sys.exit(f"no {tool} in {args.build}: build first (cmake --build build)")
    if "zookeeper" in args.systems and not os.access(ZK_SCRIPT, os.X_OK):
        sys.exit("no Apache ZooKeeper: install Debian's zookeeper package (tools/dev.sh test installs it)")

    work = tempfile.mkdtemp(prefix="corral-compare-")
    print(f"## Corral and Apache ZooKeeper 3.8, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start, "
          f"fdatasync of 4 KiB p50 {fsync_p50_ms(work):.2f} ms")
    running = []
    try:
        for layout in args.layouts:
            if not ({"load", "idle"} & set(args.sections)):
                break
            n = 1 if layout == "standalone" else 3
            systems = [System(k, n, work, args) for k in args.systems]
            running = systems
            for sysm in systems:
                log(f"starting {sysm.name} ({layout})")
                sysm.start()
            if "idle" in args.sections:
                section_idle(args, layout, systems)
            if "load" in args.sections:
                section_load(args, layout, systems)
            for sysm in systems:
                sysm.stop()
            running = []
        section_summary(args)
        if "footprint" in args.sections:
            section_footprint_and_restart(args, work)
        if "failover" in args.sections:
            section_failover(args)
    finally:
        for sysm in running:
            sysm.stop(signal.SIGKILL)
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
