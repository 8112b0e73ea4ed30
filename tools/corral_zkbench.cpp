// corral-zkbench: a load generator that speaks ZooKeeper's client protocol (jute), so that the same
// run measures Corral's ZooKeeper port and Apache ZooKeeper itself. S sessions, each a thread with
// one connection keeping N requests in flight (pipelined, as ZooKeeper's clients do), run one op over
// a key space for a duration; prints ops/s and latency percentiles. A measurement tool, not a test.
//   corral-zkbench --server=127.0.0.1:2181 --sessions=4 --inflight=64 --duration-s=10
//                  --op=set --value-bytes=100 --keys=1000
//   --op: set (setData), get (getData) or create (sequential creates under the run's folder)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/jute_codec.hpp"

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
  size_t value_bytes = 100;
  int keys = 1000;
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
    } else if (key == "--value-bytes") {
      o.value_bytes = static_cast<size_t>(std::stoul(value));
    } else if (key == "--keys") {
      o.keys = std::stoi(value);
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  bool ok = o.sessions > 0 && o.sessions <= 256 && o.inflight > 0 && o.inflight <= 10000 && o.duration_s > 0 &&
            o.keys > 0 && (o.op == "set" || o.op == "get" || o.op == "create");
  if (!ok)
    std::fprintf(stderr, "bad options: sessions 1..256, inflight 1..10000, op set|get|create\n");
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
};

std::string key_path(const std::string& root, int k) { return root + "/k" + std::to_string(k); }

void run_session(const options& o, const std::string& root, clock_type::time_point end, session_result& out) {
  connection c(o);
  std::string value(o.value_bytes, 'v');
  std::deque<clock_type::time_point> sent; // replies come in request order
  int32_t xid = 1;
  uint64_t n = 0;
  auto make = [&]() -> std::pair<request, jute::reply_shape> {
    auto k = static_cast<int>((n++ * 7919) % static_cast<uint64_t>(o.keys));
    if (o.op == "get")
      return {{xid++, get_data_request{key_path(root, k), false}}, {op_code::get_data, {}}};
    if (o.op == "create")
      return {{xid++,
               create_request{
                   root + "/c-", value, {{perm::all, "world", "anyone"}}, create_mode::persistent_sequential, -1}},
              {op_code::create, {}}};
    return {{xid++, set_data_request{key_path(root, k), value, -1}}, {op_code::set_data, {}}};
  };
  std::vector<char> batch;
  auto fill = [&] {
    batch.clear();
    while (static_cast<int>(sent.size()) < o.inflight && clock_type::now() < end) {
      auto [r, shape] = make();
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
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - sent.front()).count();
    sent.pop_front();
    out.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    ++out.ops;
    if (h->err != error_code::ok)
      ++out.errors;
    if (sent.size() <= static_cast<size_t>(o.inflight) / 2)
      fill();
  }
}

double percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty())
    return 0;
  auto at = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  return v[at] / 1000.0;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o))
    return 2;
  try {
    std::string root = "/zkbench-" + std::to_string(::getpid());
    connection setup(o);
    acl_list open{{perm::all, "world", "anyone"}};
    int32_t xid = 1;
    if (setup.call({xid++, create_request{root, "", open, create_mode::persistent, -1}}, {op_code::create, {}}) !=
        error_code::ok)
      throw std::runtime_error("cannot create " + root);
    std::string value(o.value_bytes, 'v');
    if (o.op != "create") {
      std::fprintf(stderr, "creating %d keys under %s\n", o.keys, root.c_str());
      for (int k = 0; k < o.keys; ++k)
        setup.call({xid++, create_request{key_path(root, k), value, open, create_mode::persistent, -1}},
                   {op_code::create, {}});
    }
    std::fprintf(stderr, "running %s for %d s: %d sessions x %d in flight, %zu-byte values\n", o.op.c_str(),
                 o.duration_s, o.sessions, o.inflight, o.value_bytes);
    auto start = clock_type::now();
    auto end = start + std::chrono::seconds(o.duration_s);
    std::vector<session_result> results(static_cast<size_t>(o.sessions));
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (int s = 0; s < o.sessions; ++s)
      threads.emplace_back([&, s] {
        try {
          run_session(o, root, end, results[static_cast<size_t>(s)]);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "session %d: %s\n", s, e.what());
          ++failed;
        }
      });
    for (auto& t : threads)
      t.join();
    double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    session_result all;
    for (auto& r : results) {
      all.ops += r.ops;
      all.errors += r.errors;
      all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
    }
    std::printf("%s: %.0f ops/s (%llu ops, %llu errors, %d sessions failed) latency ms p50 %.2f p99 %.2f max %.2f\n",
                o.op.c_str(), static_cast<double>(all.ops) / secs, static_cast<unsigned long long>(all.ops),
                static_cast<unsigned long long>(all.errors), failed.load(), percentile(all.latencies_us, 0.5),
                percentile(all.latencies_us, 0.99), percentile(all.latencies_us, 1.0));
    return failed.load() == 0 && all.errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "corral-zkbench: %s\n", e.what());
    return 1;
  }
}
