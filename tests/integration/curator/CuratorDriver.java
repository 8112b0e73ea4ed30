// Apache Curator 5.4's recipes, driven line by line from standard input, so that the interop tests
// (tests/integration/curator_interop_test.cpp) can hold a Curator lock, latch or barrier while a
// Corral recipe works on the same path. Compiled by the test with javac against Debian's
// libcurator-recipes-java; run as: java CuratorDriver HOST:PORT.
//
// Each command prints one answer line. Commands (paths are znode paths):
//   mutex P MS | unmutex P                 InterProcessMutex            -> ACQUIRED | TIMEOUT, RELEASED
//   read P MS | unread P | write P MS | unwrite P   InterProcessReadWriteLock
//   sem P MAX MS | unsem P                 InterProcessSemaphoreV2      -> ACQUIRED | TIMEOUT, RELEASED
//   latch P ID | leader P | unlatch P      LeaderLatch                  -> STARTED, LEADER true|false, CLOSED
//   bset P | bremove P | bwait P MS        DistributedBarrier           -> SET, REMOVED, PASSED | TIMEOUT
//   count P | cset P V | ctry P V          SharedCount (ctry: trySetCount with the last seen version)
//                                                                       -> COUNT n, SET, TRY true|false
//   qput P ITEM | qmulti P A B ...         DistributedQueue put / putMulti (UTF-8 strings) -> PUT
//   qconsume P [LOCKPATH] | qgot P         a consumer on P (lock safety with LOCKPATH); what it got
//                                          so far, in order                 -> CONSUMING, GOT a b c
//   children P                             the children, sorted          -> CHILDREN a b c
//   quit
// Errors print "ERROR <exception>" and the driver goes on.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.MultiItem;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class CuratorDriver {
  static final Map<String, InterProcessMutex> mutexes = new HashMap<>();
  static final Map<String, InterProcessReadWriteLock> rwLocks = new HashMap<>();
  static final Map<String, Lease> leases = new HashMap<>();
  static final Map<String, LeaderLatch> latches = new HashMap<>();
  static final Map<String, SharedCount> counts = new HashMap<>();
  static final Map<String, DistributedQueue<String>> queues = new HashMap<>();
  static final Map<String, List<String>> consumed = new HashMap<>();

  static final QueueSerializer<String> utf8 = new QueueSerializer<String>() {
    public byte[] serialize(String item) { return item.getBytes(java.nio.charset.StandardCharsets.UTF_8); }
    public String deserialize(byte[] bytes) { return new String(bytes, java.nio.charset.StandardCharsets.UTF_8); }
  };

  static DistributedQueue<String> producer(CuratorFramework client, String path) throws Exception {
    DistributedQueue<String> q = queues.get(path);
    if (q == null) {
      q = QueueBuilder.builder(client, null, utf8, path).buildQueue();
      q.start();
      queues.put(path, q);
    }
    return q;
  }

  public static void main(String[] args) throws Exception {
    CuratorFramework client = CuratorFrameworkFactory.newClient(args[0], 10000, 5000,
        new ExponentialBackoffRetry(100, 5));
    client.start();
    client.blockUntilConnected(20, TimeUnit.SECONDS);
    System.out.println("READY");
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    String line;
    while ((line = in.readLine()) != null) {
      String[] w = line.trim().split("\\s+");
      if (w.length == 0 || w[0].isEmpty()) continue;
      if (w[0].equals("quit")) break;
      String answer;
      try {
        answer = run(client, w);
      } catch (Exception e) {
        answer = "ERROR " + e;
      }
      System.out.println(answer);
      System.out.flush();
    }
    for (DistributedQueue<String> q : queues.values()) q.close();
    for (SharedCount c : counts.values()) c.close();
    for (LeaderLatch l : latches.values()) l.close();
    client.close();
  }

  static InterProcessReadWriteLock rw(CuratorFramework client, String path) {
    return rwLocks.computeIfAbsent(path, p -> new InterProcessReadWriteLock(client, p));
  }

  static SharedCount count(CuratorFramework client, String path) throws Exception {
    SharedCount c = counts.get(path);
    if (c == null) {
      c = new SharedCount(client, path, 0);
      c.start();
      counts.put(path, c);
    }
    return c;
  }

  static String acquired(boolean ok) { return ok ? "ACQUIRED" : "TIMEOUT"; }

  static String run(CuratorFramework client, String[] w) throws Exception {
    String p = w.length > 1 ? w[1] : "/";
    switch (w[0]) {
      case "mutex": {
        InterProcessMutex m = mutexes.computeIfAbsent(p, x -> new InterProcessMutex(client, x));
        return acquired(m.acquire(Long.parseLong(w[2]), TimeUnit.MILLISECONDS));
      }
      case "unmutex": mutexes.get(p).release(); return "RELEASED";
      case "read": return acquired(rw(client, p).readLock().acquire(Long.parseLong(w[2]), TimeUnit.MILLISECONDS));
      case "unread": rw(client, p).readLock().release(); return "RELEASED";
      case "write": return acquired(rw(client, p).writeLock().acquire(Long.parseLong(w[2]), TimeUnit.MILLISECONDS));
      case "unwrite": rw(client, p).writeLock().release(); return "RELEASED";
      case "sem": {
        InterProcessSemaphoreV2 s = new InterProcessSemaphoreV2(client, p, Integer.parseInt(w[2]));
        Lease l = s.acquire(Long.parseLong(w[3]), TimeUnit.MILLISECONDS);
        if (l == null) return "TIMEOUT";
        leases.put(p, l);
        return "ACQUIRED";
      }
      case "unsem": leases.remove(p).close(); return "RELEASED";
      case "latch": {
        LeaderLatch l = new LeaderLatch(client, p, w[2]);
        l.start();
        latches.put(p, l);
        return "STARTED";
      }
      case "leader": return "LEADER " + latches.get(p).hasLeadership();
      case "unlatch": latches.remove(p).close(); return "CLOSED";
      case "bset": new DistributedBarrier(client, p).setBarrier(); return "SET";
      case "bremove": new DistributedBarrier(client, p).removeBarrier(); return "REMOVED";
      case "bwait":
        return new DistributedBarrier(client, p).waitOnBarrier(Long.parseLong(w[2]), TimeUnit.MILLISECONDS)
            ? "PASSED" : "TIMEOUT";
      case "count": return "COUNT " + count(client, p).getCount();
      case "cset": count(client, p).setCount(Integer.parseInt(w[2])); return "SET";
      case "ctry": {
        SharedCount c = count(client, p);
        VersionedValue<Integer> v = c.getVersionedValue();
        return "TRY " + c.trySetCount(v, Integer.parseInt(w[2]));
      }
      case "qput": producer(client, p).put(w[2]); return "PUT";
      case "qmulti": {
        final java.util.Iterator<String> it = java.util.Arrays.asList(w).subList(2, w.length).iterator();
        producer(client, p).putMulti(new MultiItem<String>() {
          public String nextItem() { return it.hasNext() ? it.next() : null; }
        });
        return "PUT";
      }
      case "qconsume": {
        final List<String> got = Collections.synchronizedList(new ArrayList<>());
        consumed.put(p, got);
        QueueConsumer<String> consumer = new QueueConsumer<String>() {
          public void consumeMessage(String item) { got.add(item); }
          public void stateChanged(CuratorFramework c, ConnectionState s) {}
        };
        QueueBuilder<String> b = QueueBuilder.builder(client, consumer, utf8, p);
        if (w.length > 2) b = b.lockPath(w[2]);
        DistributedQueue<String> q = b.buildQueue();
        q.start();
        queues.put(p + " consumer", q);
        return "CONSUMING";
      }
      case "qgot": {
        List<String> got = consumed.get(p);
        synchronized (got) { return ("GOT " + String.join(" ", got)).trim(); }
      }
      case "children": {
        List<String> kids = new ArrayList<>(client.getChildren().forPath(p));
        Collections.sort(kids);
        return "CHILDREN " + String.join(" ", kids);
      }
      // What Curator's EnsembleTracker made of /zookeeper/config (it is on by default).
      case "ensemble": return "ENSEMBLE " + client.getZookeeperClient().getCurrentConnectionString();
      default: return "ERROR unknown command " + w[0];
    }
  }
}
