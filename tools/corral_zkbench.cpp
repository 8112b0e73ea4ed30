// corral-zkbench: a load generator that speaks ZooKeeper's client protocol (jute), so that the same
// run measures Corral's ZooKeeper port and Apache ZooKeeper itself. S sessions, each with one
// connection keeping N requests in flight (pipelined, as ZooKeeper's clients do), run one op over a
// key space for a duration; prints ops/s and latency percentiles. A measurement tool, not a test.
//   corral-zkbench --server=127.0.0.1:2181 --sessions=4 --inflight=64 --duration-s=10
//                  --op=set --value-bytes=100 --keys=1000 [--client=raw|c] [--json]
//   --op: set (setData), get (getData), create (sequential creates under the run's folder) or
//         populate (create the keys --keys names under --root, then stop)
//   --client=raw: our own jute client, one thread per session; it refills its window when half of it
//         is answered, writing the new requests in one packet (a batching client).
//   --client=c: Apache ZooKeeper's C client (libzookeeper_mt, async calls), one handle per session;
//         it writes each request as its own packet, as ZooKeeper's Java client and kazoo do. Its
//         per-poll re-resolution of the server list is off (--c-resolution-delay-ms=-1) unless asked.
//   --root=PATH: use (and with populate, create) this folder instead of a new one per run.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/jute_codec.hpp"

#ifdef CORRAL_HAVE_ZK_C_CLIENT
#include <zookeeper/zookeeper.h>
#endif

using namespace corral;
using clock_type = std::chrono::steady_clock;
namespace jute = corral::protocol::jute;

namespace {

struct options {
  std::string host = "127.0.0.1";
  uint16_t port = 2181;
  int sessions = 4;
  int inflight = 64;
  int duration_s = 10;
  std::string op = "set";
  std::string client = "raw";
  std::string root; // empty: a new folder per run, populated first unless the op is create
  size_t value_bytes = 100;
  int keys = 1000;
  int c_resolution_delay_ms = -1;
  bool json = false;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    auto key = a.substr(0, eq), value = eq == std::string::npos ? "" : a.substr(eq + 1);
    if (key == "--server") {
      auto colon = value.rfind(':');
      o.host = value.substr(0, colon);
      o.port = static_cast<uint16_t>(std::stoi(value.substr(colon + 1)));
    } else if (key == "--sessions") {
      o.sessions = std::stoi(value);
    } else if (key == "--inflight") {
      o.inflight = std::stoi(value);
    } else if (key == "--duration-s") {
      o.duration_s = std::stoi(value);
    } else if (key == "--op") {
      o.op = value;
    } else if (key == "--client") {
      o.client = value;
    } else if (key == "--root") {
      o.root = value;
    } else if (key == "--value-bytes") {
      o.value_bytes = static_cast<size_t>(std::stoul(value));
    } else if (key == "--keys") {
      o.keys = std::stoi(value);
    } else if (key == "--c-resolution-delay-ms") {
      o.c_resolution_delay_ms = std::stoi(value);
    } else if (key == "--json") {
      o.json = true;
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  bool ok = o.sessions > 0 && o.sessions <= 256 && o.inflight > 0 && o.inflight <= 10000 && o.duration_s > 0 &&
            o.keys > 0 && o.keys <= 10'000'000 &&
            (o.op == "set" || o.op == "get" || o.op == "create" || o.op == "populate") &&
            (o.client == "raw" || o.client == "c") && (o.root.empty() || o.root[0] == '/');
  if (!ok)
    std::fprintf(stderr, "bad options: sessions 1..256, inflight 1..10000, keys 1..10000000, "
                         "op set|get|create|populate, client raw|c, root an absolute path\n");
#ifndef CORRAL_HAVE_ZK_C_CLIENT
  if (ok && o.client == "c") {
    std::fprintf(stderr, "--client=c: built without ZooKeeper's C client (install libzookeeper-mt-dev)\n");
    ok = false;
  }
#endif
  return ok;
}

// One ZooKeeper session on a blocking socket.
class connection {
public:
  connection(const options& o) : packets_(64u << 20) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(o.port);
    ::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot connect to " + o.host + ":" + std::to_string(o.port) + ": " +
                               std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    protocol::connect_request req;
    req.timeout_ms = 30000;
    req.password = std::string(16, '\0');
    std::vector<char> out;
    jute::encode_connect_request(req, true, out);
    send(out);
    std::string body;
    if (!next(body))
      throw std::runtime_error("no ConnectResponse (is this a ZooKeeper port?)");
  }
  ~connection() { ::close(fd_); }
  void send(const std::vector<char>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n <= 0)
        throw std::runtime_error("write failed");
      done += static_cast<size_t>(n);
    }
  }
  // The next packet's body; false if the connection closed.
  bool next(std::string& body) {
    for (;;) {
      auto st = packets_.next(body);
      if (st == jute::packet_reader::status::packet)
        return true;
      if (st == jute::packet_reader::status::bad)
        return false;
      char buf[65536];
      auto n = ::read(fd_, buf, sizeof buf);
      if (n <= 0)
        return false;
      packets_.feed(buf, static_cast<size_t>(n));
    }
  }
  // Sends `r` and waits for its reply's error code.
  error_code call(const request& r, jute::reply_shape shape) {
    std::vector<char> out;
    jute::encode_request(r, shape, out);
    send(out);
    std::string body;
    while (next(body))
      if (auto h = jute::decode_reply_header(body); h && h->xid == r.xid)
        return h->err;
    throw std::runtime_error("connection closed");
  }

private:
  int fd_ = -1;
  jute::packet_reader packets_;
};

struct session_result {
  uint64_t ops = 0, errors = 0;
  std::vector<uint32_t> latencies_us;
  void record(clock_type::time_point sent, bool ok) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - sent).count();
    latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    ++ops;
    errors += ok ? 0 : 1;
  }
};

std::string key_path(const std::string& root, int k) { return root + "/k" + std::to_string(k); }

// What one session sends: the path of its next request, until the run's end (or, for populate, until
// its share of the keys is created: keys s, s + S, s + 2S, ...).
class work {
public:
  work(const options& o, std::string root, int session, clock_type::time_point end)
      : o_(o), root_(std::move(root)), session_(session), end_(end) {}
  bool next(std::string& path) {
    if (o_.op == "populate") {
      auto k = static_cast<uint64_t>(session_) + n_ * static_cast<uint64_t>(o_.sessions);
      if (k >= static_cast<uint64_t>(o_.keys))
        return false;
      ++n_;
      path = key_path(root_, static_cast<int>(k));
      return true;
    }
    if (clock_type::now() >= end_)
      return false;
    if (o_.op == "create") {
      path = root_ + "/c-";
      return true;
    }
    auto k = (n_++ * 7919 + static_cast<uint64_t>(session_) * 104729) % static_cast<uint64_t>(o_.keys);
    path = key_path(root_, static_cast<int>(k));
    return true;
  }

private:
  const options& o_;
  std::string root_;
  int session_;
  clock_type::time_point end_;
  uint64_t n_ = 0;
};

std::pair<request, jute::reply_shape> make_request(const options& o, int32_t xid, std::string path,
                                                   const std::string& value) {
  if (o.op == "get")
    return {{xid, get_data_request{std::move(path), false}}, {op_code::get_data, {}}};
  if (o.op == "create" || o.op == "populate") {
    auto mode = o.op == "create" ? create_mode::persistent_sequential : create_mode::persistent;
    return {{xid, create_request{std::move(path), value, {{perm::all, "world", "anyone"}}, mode, -1}},
            {op_code::create, {}}};
  }
  return {{xid, set_data_request{std::move(path), value, -1}}, {op_code::set_data, {}}};
}

void run_raw_session(const options& o, work w, session_result& out) {
  connection c(o);
  std::string value(o.value_bytes, 'v');
  std::deque<clock_type::time_point> sent; // replies come in request order
  int32_t xid = 1;
  bool more = true;
  std::vector<char> batch;
  auto fill = [&] {
    batch.clear();
    std::string path;
    while (more && static_cast<int>(sent.size()) < o.inflight && (more = w.next(path))) {
      auto [r, shape] = make_request(o, xid++, std::move(path), value);
      jute::encode_request(r, shape, batch);
      sent.push_back(clock_type::now());
    }
    if (!batch.empty())
      c.send(batch);
  };
  fill();
  std::string body;
  while (!sent.empty() && c.next(body)) {
    auto h = jute::decode_reply_header(body);
    if (!h)
      throw std::runtime_error(h.error().detail);
    if (h->xid < 0)
      continue; // a notification or a ping
    out.record(sent.front(), h->err == error_code::ok);
    sent.pop_front();
    if (sent.size() <= static_cast<size_t>(o.inflight) / 2)
      fill();
  }
  if (!sent.empty())
    throw std::runtime_error("connection closed with requests in flight");
}

#ifdef CORRAL_HAVE_ZK_C_CLIENT
// One session of ZooKeeper's C client. Its library runs two threads per handle: one does the socket
// I/O, one runs the completions; each completion sends the next request, so `inflight` stay in flight.
class c_session {
public:
  c_session(const options& o, work w, session_result& out)
      : o_(o), work_(std::move(w)), out_(out), value_(o.value_bytes, 'v'), slots_(static_cast<size_t>(o.inflight)) {}
  ~c_session() {
    if (zh_ != nullptr)
      zookeeper_close(zh_);
  }
  void run() {
    auto hosts = o_.host + ":" + std::to_string(o_.port);
    zh_ = zookeeper_init(hosts.c_str(), &c_session::on_watch, 30000, nullptr, this, 0);
    if (zh_ == nullptr)
      throw std::runtime_error("zookeeper_init failed for " + hosts);
    zoo_set_servers_resolution_delay(zh_, o_.c_resolution_delay_ms);
    std::unique_lock<std::mutex> lock(m_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return connected_; }))
      throw std::runtime_error("the C client did not connect to " + hosts + " within 10 s");
    outstanding_ = static_cast<int>(slots_.size());
    lock.unlock();
    for (auto& s : slots_) {
      s.owner = this;
      issue(&s);
    }
    lock.lock();
    cv_.wait(lock, [&] { return outstanding_ == 0; });
  }

private:
  struct slot {
    c_session* owner = nullptr;
    clock_type::time_point sent;
  };
  static void on_watch(zhandle_t*, int type, int state, const char*, void* ctx) {
    auto* self = static_cast<c_session*>(ctx);
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
      std::lock_guard<std::mutex> lock(self->m_);
      self->connected_ = true;
      self->cv_.notify_all();
    }
  }
  static void done(const void* data, int rc) {
    auto* s = static_cast<slot*>(const_cast<void*>(data));
    {
      std::lock_guard<std::mutex> lock(s->owner->m_);
      s->owner->out_.record(s->sent, rc == ZOK);
    }
    s->owner->issue(s);
  }
  static void on_stat(int rc, const Stat*, const void* data) { done(data, rc); }
  static void on_data(int rc, const char*, int, const Stat*, const void* data) { done(data, rc); }
  static void on_string(int rc, const char*, const void* data) { done(data, rc); }
  void finish_slot() {
    std::lock_guard<std::mutex> lock(m_);
    --outstanding_;
    cv_.notify_all();
  }
  void issue(slot* s) {
    std::string path;
    bool stop = false;
    {
      std::lock_guard<std::mutex> lock(m_);
      if (!work_.next(path))
        stop = true;
    }
    if (stop) {
      finish_slot();
      return;
    }
    s->sent = clock_type::now();
    auto len = static_cast<int>(value_.size());
    int rc = ZOK;
    if (o_.op == "get")
      rc = zoo_aget(zh_, path.c_str(), 0, &c_session::on_data, s);
    else if (o_.op == "set")
      rc = zoo_aset(zh_, path.c_str(), value_.data(), len, -1, &c_session::on_stat, s);
    else
      rc = zoo_acreate(zh_, path.c_str(), value_.data(), len, &ZOO_OPEN_ACL_UNSAFE,
                       o_.op == "create" ? ZOO_PERSISTENT_SEQUENTIAL : ZOO_PERSISTENT, &c_session::on_string, s);
    if (rc != ZOK) {
      std::fprintf(stderr, "C client refused a request: %s\n", zerror(rc));
      {
        std::lock_guard<std::mutex> lock(m_);
        ++out_.errors;
      }
      finish_slot();
    }
  }

  const options& o_;
  work work_;
  session_result& out_;
  std::string value_;
  std::vector<slot> slots_;
  zhandle_t* zh_ = nullptr;
  std::mutex m_;
  std::condition_variable cv_;
  bool connected_ = false;
  int outstanding_ = 0;
};
#endif

double percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty())
    return 0;
  auto at = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  return v[at] / 1000.0;
}

// Runs o.op on o.sessions sessions in parallel; returns every session's figures merged.
session_result run_sessions(const options& o, const std::string& root, clock_type::time_point end, int& failed) {
  std::vector<session_result> results(static_cast<size_t>(o.sessions));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int s = 0; s < o.sessions; ++s)
    threads.emplace_back([&, s] {
      try {
        work w(o, root, s, end);
        auto& out = results[static_cast<size_t>(s)];
        if (o.client == "raw") {
          run_raw_session(o, std::move(w), out);
        } else {
#ifdef CORRAL_HAVE_ZK_C_CLIENT
          c_session(o, std::move(w), out).run();
#endif
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "session %d: %s\n", s, e.what());
        ++failures;
      }
    });
  for (auto& t : threads)
    t.join();
  session_result all;
  for (auto& r : results) {
    all.ops += r.ops;
    all.errors += r.errors;
    all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  failed = failures.load();
  return all;
}

// Creates `root` (NodeExists is fine when the caller named it) and, unless the op makes its own
// nodes, the keys under it.
void prepare(const options& o, const std::string& root, bool fresh) {
  connection setup(o);
  auto err = setup.call({1, create_request{root, "", {{perm::all, "world", "anyone"}}, create_mode::persistent, -1}},
                        {op_code::create, {}});
  if (err != error_code::ok && !(err == error_code::node_exists && !fresh))
    throw std::runtime_error("cannot create " + root);
  if (!fresh || o.op == "create" || o.op == "populate")
    return;
  std::fprintf(stderr, "creating %d keys under %s\n", o.keys, root.c_str());
  auto p = o;
  p.op = "populate";
  int failed = 0;
  auto r = run_sessions(p, root, clock_type::now(), failed);
  if (failed > 0 || r.errors > 0)
    throw std::runtime_error("could not create the keys under " + root);
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o))
    return 2;
#ifdef CORRAL_HAVE_ZK_C_CLIENT
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
#endif
  try {
    bool fresh = o.root.empty();
    std::string root = fresh ? "/zkbench-" + std::to_string(::getpid()) : o.root;
    prepare(o, root, fresh);
    std::fprintf(stderr, "running %s for %s: %d sessions x %d in flight, %zu-byte values, %s client\n", o.op.c_str(),
                 o.op == "populate" ? "every key" : (std::to_string(o.duration_s) + " s").c_str(), o.sessions,
                 o.inflight, o.value_bytes, o.client.c_str());
    auto start = clock_type::now();
    int failed = 0;
    auto all = run_sessions(o, root, start + std::chrono::seconds(o.duration_s), failed);
    double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    double rate = static_cast<double>(all.ops) / secs;
    double p50 = percentile(all.latencies_us, 0.5), p99 = percentile(all.latencies_us, 0.99),
           p999 = percentile(all.latencies_us, 0.999), max = percentile(all.latencies_us, 1.0);
    if (o.json)
      std::printf("{\"op\": \"%s\", \"client\": \"%s\", \"sessions\": %d, \"inflight\": %d, \"ops\": %llu, "
                  "\"seconds\": %.3f, \"ops_per_s\": %.1f, \"errors\": %llu, \"failed_sessions\": %d, "
                  "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f}\n",
                  o.op.c_str(), o.client.c_str(), o.sessions, o.inflight, static_cast<unsigned long long>(all.ops),
                  secs, rate, static_cast<unsigned long long>(all.errors), failed, p50, p99, p999, max);
    else
      std::printf("%s: %.0f ops/s (%llu ops, %llu errors, %d sessions failed) latency ms p50 %.2f p99 %.2f "
                  "p99.9 %.2f max %.2f\n",
                  o.op.c_str(), rate, static_cast<unsigned long long>(all.ops),
                  static_cast<unsigned long long>(all.errors), failed, p50, p99, p999, max);
    return failed == 0 && all.errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "corral-zkbench: %s\n", e.what());
    return 1;
  }
}
