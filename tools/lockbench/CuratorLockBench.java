// The same loop as corral-lockbench (tools/corral_lockbench.cpp), with Apache Curator's
// InterProcessMutex: C contenders, each with its own CuratorFramework (one ZooKeeper session), take
// the lock on one path, hold it for HOLD_US, release it, and go again for DURATION_S seconds.
// Prints one line in corral-lockbench's format. Run by tools/lock-bench.sh:
//   java -cp <curator jars>:<dir> CuratorLockBench HOST:PORT CONTENDERS DURATION_S HOLD_US PATH
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class CuratorLockBench {
  public static void main(String[] args) throws Exception {
    String hosts = args[0];
    int contenders = Integer.parseInt(args[1]);
    long durationMs = Long.parseLong(args[2]) * 1000;
    long holdUs = Long.parseLong(args[3]);
    String path = args[4];
    List<CuratorFramework> clients = new ArrayList<>();
    for (int i = 0; i < contenders; ++i) {
      CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 10000, 10000, new ExponentialBackoffRetry(100, 5));
      c.start();
      if (!c.blockUntilConnected(20, TimeUnit.SECONDS)) throw new IllegalStateException("cannot connect to " + hosts);
      clients.add(c);
    }
    final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
    final AtomicLong errors = new AtomicLong();
    final long start = System.nanoTime();
    final long deadline = start + durationMs * 1_000_000L;
    List<Thread> threads = new ArrayList<>();
    for (CuratorFramework c : clients) {
      final InterProcessMutex m = new InterProcessMutex(c, path);
      Thread t = new Thread(() -> {
        List<Long> mine = new ArrayList<>();
        while (System.nanoTime() < deadline) {
          try {
            long asked = System.nanoTime();
            m.acquire();
            mine.add((System.nanoTime() - asked) / 1000);
            if (holdUs > 0) TimeUnit.MICROSECONDS.sleep(holdUs);
            m.release();
          } catch (Exception e) {
            errors.incrementAndGet();
          }
        }
        latencies.addAll(mine);
      });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) t.join();
    double secs = (System.nanoTime() - start) / 1e9;
    List<Long> lat = new ArrayList<>(latencies);
    Collections.sort(lat);
    long p50 = lat.isEmpty() ? 0 : lat.get(Math.min(lat.size() - 1, (int) (0.5 * lat.size())));
    long p99 = lat.isEmpty() ? 0 : lat.get(Math.min(lat.size() - 1, (int) (0.99 * lat.size())));
    System.out.printf("curator-lockbench contenders=%d acquisitions=%d per_s=%.0f p50_us=%d p99_us=%d errors=%d%n",
        contenders, lat.size(), lat.size() / secs, p50, p99, errors.get());
    for (CuratorFramework c : clients) c.close();
  }
}
