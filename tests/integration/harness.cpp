#include "tests/integration/harness.hpp"

#include "tools/torture/processes.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <sys/prctl.h>
#include <stdexcept>

#include <boost/filesystem.hpp>

namespace corral::test {

namespace fs = boost::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

int connect_to(uint16_t port, const char* from) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (from != nullptr) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      throw std::runtime_error(std::string("cannot bind to ") + from);
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool read_until(int fd, std::chrono::steady_clock::time_point deadline,
                const std::function<void(const char*, size_t)>& feed, const std::function<bool()>& done) {
  while (!done()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[65536];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    feed(buf, static_cast<size_t>(n));
  }
  return true;
}

std::string four_letter_word(uint16_t port, const std::string& word) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sockaddr_in local{};
  socklen_t len = sizeof local;
  // Polling a port nobody holds yet can connect the socket to itself: that is not an answer.
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                   ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 && local.sin_port != addr.sin_port;
  std::string out;
  if (connected && ::write(fd, word.data(), word.size()) == static_cast<ssize_t>(word.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// ---- server_process ----------------------------------------------------------------------------

namespace {

// Waits up to `timeout` for the child `pid` to exit on its own; then it is reaped and `pid` is -1.
bool reap_within(pid_t& pid, std::chrono::milliseconds timeout) {
  if (pid <= 0)
    return true;
  if (!eventually([&] { return waitpid(pid, nullptr, WNOHANG) == pid; }, timeout))
    return false;
  pid = -1;
  return true;
}

// Runs `pick_and_start` (which picks fresh ports and starts servers on them) again, up to three times
// in all, while it fails because a server cannot listen: a port free when picked can still be bound by
// something else (not a test: those claim their ports) before the server binds it.
template <class F>
void with_fresh_ports(F pick_and_start) {
  for (int attempt = 1;; ++attempt) {
    try {
      pick_and_start();
      return;
    } catch (const std::runtime_error& e) {
      if (attempt == 3 || std::string(e.what()).find("cannot listen") == std::string::npos)
        throw;
    }
  }
}

} // namespace

server_process::server_process(std::vector<std::string> extra_args, std::vector<std::string> env)
    : extra_(std::move(extra_args)), env_(std::move(env)) {
  dir_ = (fs::temp_directory_path() / fs::unique_path("corral-test-%%%%-%%%%-%%%%")).string();
  fs::create_directories(dir_);
  // Ports picked here rather than by the server's bind(0), which hands out ports from the range that
  // outgoing connections use too: a restart on the old ports then sometimes found a client's
  // connection (of a test running beside this one) sitting on them.
  with_fresh_ports([&] {
    zk_port_ = free_port();
    start(free_port());
  });
}

void server_process::start(uint16_t port) {
  auto ready = dir_ + "/ready";
  fs::remove(ready);
  std::vector<std::string> args{CORRAL_SERVER_BIN,
                                "--corral.port=" + std::to_string(port),
                                "--corral.zk-port=" + std::to_string(zk_port_),
                                "--corral.data-dir=" + dir_ + "/data",
                                "--corral.ready-file=" + ready,
                                "--corral.log-file=" + dir_ + "/server.log",
                                "--corral.tick-ms=100"};
  args.insert(args.end(), extra_.begin(), extra_.end());
  pid_ = fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // no server outlives a test process that crashed
    for (auto& e : env_)
      ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  bool exited = false;
  bool up = eventually([&] { return fs::exists(ready) || (exited = waitpid(pid_, nullptr, WNOHANG) == pid_); },
                       std::chrono::seconds(15));
  if (!up || exited) {
    pid_ = -1;
    throw std::runtime_error("corral-server did not start; log:\n" + log());
  }
  std::istringstream ports(slurp(ready));
  int native = 0, zk = -1;
  ports >> native >> zk >> secure_zk_port_ >> secure_port_;
  port_ = static_cast<uint16_t>(native);
  zk_port_ = zk;
}

std::string server_process::log() const { return slurp(dir_ + "/server.log"); }

void server_process::limit_file_size(uint64_t bytes) {
  rlimit lim{};
  lim.rlim_cur = bytes;
  lim.rlim_max = RLIM_INFINITY;
  if (::prlimit(pid_, RLIMIT_FSIZE, &lim, nullptr) != 0)
    throw std::runtime_error(std::string("prlimit failed: ") + std::strerror(errno));
}

void server_process::kill9() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

bool server_process::wait_exit(std::chrono::milliseconds timeout) { return reap_within(pid_, timeout); }

void server_process::stop() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGTERM);
  if (!eventually([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, std::chrono::seconds(10)))
    kill9();
  pid_ = -1;
}

void server_process::restart() {
  kill9();
  start(port_);
}

server_process::~server_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    bool done = eventually([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, std::chrono::seconds(5));
    if (!done)
      kill9();
  }
  boost::system::error_code ec;
  fs::remove_all(dir_, ec);
}

// ---- raw_client --------------------------------------------------------------------------------

raw_client::raw_client(uint16_t port) : fd_(connect_to(port)) {}

raw_client::~raw_client() {
  if (fd_ >= 0)
    ::close(fd_);
}

void raw_client::send(const protocol::client_message& m) {
  std::vector<char> bytes;
  protocol::encode(m, bytes);
  send_bytes(std::string(bytes.begin(), bytes.end()));
}

void raw_client::send_bytes(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    off += static_cast<size_t>(n);
  }
}

std::optional<protocol::server_message> raw_client::recv(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  kj::ArrayPtr<const capnp::word> f;
  protocol::frame_reader::status st;
  auto done = [&] {
    st = reader_.next(f);
    if (st != protocol::frame_reader::status::frame && st != protocol::frame_reader::status::need_more)
      throw std::runtime_error("server sent a bad frame: " + reader_.reason());
    return st == protocol::frame_reader::status::frame;
  };
  if (!read_until(
          fd_, deadline, [&](const char* b, size_t n) { reader_.feed(b, n); }, done))
    return std::nullopt;
  auto m = protocol::decode_server(f);
  if (!m)
    throw std::runtime_error("server sent a bad frame: " + m.error().detail);
  return std::move(*m);
}

bool raw_client::closed_by_server(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        return true;
    }
  }
  return false;
}

protocol::connect_response raw_client::handshake(session_id id, const std::string& password, int32_t timeout_ms) {
  protocol::connect_request req;
  req.session = id;
  req.password = password;
  req.timeout_ms = timeout_ms;
  send(protocol::client_message{req});
  auto m = recv();
  if (!m || !std::holds_alternative<protocol::connect_response>(*m))
    throw std::runtime_error("no Connected frame from the server");
  return std::get<protocol::connect_response>(*m);
}

response raw_client::call(request_body body, std::vector<watch_event>* events) {
  request r{next_xid_++, std::move(body)};
  send(protocol::client_message{r});
  for (;;) {
    auto m = recv();
    if (!m)
      throw std::runtime_error("no response to xid " + std::to_string(r.xid));
    if (auto* e = std::get_if<watch_event>(&*m)) {
      if (events != nullptr)
        events->push_back(*e);
      continue;
    }
    if (auto* resp = std::get_if<response>(&*m); resp && resp->xid == r.xid)
      return *resp;
  }
}

// ---- raw_jute_client ---------------------------------------------------------------------------

raw_jute_client::raw_jute_client(uint16_t port) : fd_(connect_to(port)) {}

raw_jute_client::~raw_jute_client() {
  if (fd_ >= 0)
    ::close(fd_);
}

void raw_jute_client::send_connect(session_id id, const std::string& password, int32_t timeout_ms) {
  protocol::connect_request req;
  req.session = id;
  req.password = password;
  req.timeout_ms = timeout_ms;
  std::vector<char> out;
  protocol::jute::encode_connect_request(req, true, out);
  ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
}

void raw_jute_client::send_request(const request& r, protocol::jute::reply_shape shape) {
  std::vector<char> out;
  protocol::jute::encode_request(r, shape, out);
  ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
}

std::optional<std::string> raw_jute_client::next(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string body;
  auto done = [&] {
    auto st = packets_.next(body);
    if (st == protocol::jute::packet_reader::status::bad)
      throw std::runtime_error("server sent a bad packet: " + packets_.reason());
    return st == protocol::jute::packet_reader::status::packet;
  };
  if (!read_until(
          fd_, deadline, [&](const char* b, size_t n) { packets_.feed(b, n); }, done))
    return std::nullopt;
  return body;
}

protocol::connect_response raw_jute_client::handshake(session_id id, const std::string& password, int32_t timeout_ms) {
  send_connect(id, password, timeout_ms);
  auto p = next();
  if (!p)
    throw std::runtime_error("no ConnectResponse from the server");
  auto r = protocol::jute::decode_connect_response(*p);
  if (!r)
    throw std::runtime_error(r.error().detail);
  return *r;
}

// ---- tcp_proxy ---------------------------------------------------------------------------------

tcp_proxy::tcp_proxy(uint16_t target) : target_(target) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0)
    throw std::runtime_error("proxy cannot listen");
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

tcp_proxy::~tcp_proxy() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void tcp_proxy::cut() {
  int before = cut_requests_.load();
  cut_requests_ = before + 1;
}

void tcp_proxy::run() {
  std::map<int, int> peer; // fd -> the other side
  std::set<int> targets;   // the sides connected to the target (their data may be throttled)
  int handled_cuts = 0;
  while (!stop_) {
    // With a rate, each 20 ms turn forwards at most rate/50 bytes from each target side.
    size_t budget = rate_ == 0 ? 65536 : std::max<size_t>(rate_ / 50, 1);
    if (rate_ != 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (cut_requests_ != handled_cuts) {
      handled_cuts = cut_requests_;
      for (auto& [fd, other] : peer)
        ::close(fd);
      peer.clear();
      targets.clear();
    }
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (auto& [fd, other] : peer)
      fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 20) <= 0)
      continue;
    if (fds[0].revents & POLLIN) {
      int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c >= 0 && refusing_) {
        ::close(c);
      } else if (c >= 0) {
        try {
          int s = connect_to(target_);
          peer[c] = s;
          peer[s] = c;
          targets.insert(s);
        } catch (...) {
          ::close(c);
        }
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      int fd = fds[i].fd;
      auto it = peer.find(fd);
      if (it == peer.end())
        continue;
      char buf[65536];
      size_t want = targets.count(fd) ? std::min(budget, sizeof buf) : sizeof buf;
      auto n = ::recv(fd, buf, want, 0);
      if (n <= 0) {
        int other = it->second;
        ::close(fd);
        ::close(other);
        targets.erase(fd);
        targets.erase(other);
        peer.erase(fd);
        peer.erase(other);
        continue;
      }
      ::send(it->second, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
    }
  }
  for (auto& [fd, other] : peer)
    ::close(fd);
}

// ---- corral-cli --------------------------------------------------------------------------------

cli_result run_cli(const std::vector<std::string>& args, const std::string& input, int line_delay_ms) {
  return run_tool(CORRAL_CLI_BIN, args, input, line_delay_ms);
}

cli_result run_tool(const std::string& binary, const std::vector<std::string>& args, const std::string& input,
                    int line_delay_ms, std::chrono::seconds limit) {
  auto dir = fs::temp_directory_path() / fs::unique_path("corral-cli-%%%%-%%%%");
  fs::create_directories(dir);
  auto out = (dir / "out").string(), err = (dir / "err").string();
  ::signal(SIGPIPE, SIG_IGN); // the CLI may exit before reading all its input
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0)
    throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    ::close(pipe_fds[1]);
    int i = pipe_fds[0];
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(i, 0);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<std::string> all{binary};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(pipe_fds[0]);
  std::thread feeder([fd = pipe_fds[1], input, line_delay_ms] {
    std::istringstream lines(input);
    std::string line;
    while (std::getline(lines, line)) {
      line += "\n";
      if (::write(fd, line.data(), line.size()) < 0)
        break;
      if (line_delay_ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(line_delay_ms));
    }
    ::close(fd);
  });
  cli_result r;
  int status = 0;
  bool done = eventually([&] { return waitpid(pid, &status, WNOHANG) == pid; }, limit);
  if (!done) {
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  feeder.join();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  boost::system::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}

client::client_options client_at(const std::string& address, int32_t session_timeout_ms) {
  client::client_options o;
  o.servers = {address};
  o.session_timeout_ms = session_timeout_ms;
  o.request_timeout_ms = 10000;
  return o;
}

// ---- line_process ------------------------------------------------------------------------------

line_process::line_process(const std::vector<std::string>& args) {
  ::signal(SIGPIPE, SIG_IGN);
  err_file_ = (fs::temp_directory_path() / fs::unique_path("corral-driver-%%%%-%%%%.err")).string();
  int to_child[2], from_child[2];
  if (::pipe(to_child) != 0 || ::pipe(from_child) != 0)
    throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int e = ::open(err_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    dup2(e, 2);
    ::close(to_child[1]);
    ::close(from_child[0]);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  in_ = to_child[1];
  out_ = from_child[0];
}

line_process::~line_process() {
  ::close(in_);
  ::close(out_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  boost::system::error_code ec;
  fs::remove(err_file_, ec);
}

void line_process::send_line(const std::string& line) {
  auto l = line + "\n";
  if (::write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
    throw std::runtime_error("cannot write to the driver process: " + stderr_text());
}

std::optional<std::string> line_process::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffered_.find('\n');
    if (nl != std::string::npos) {
      auto line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[4096];
    auto n = ::read(out_, buf, sizeof buf);
    if (n <= 0)
      return std::nullopt;
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

std::string line_process::ask(const std::string& command, std::chrono::milliseconds timeout) {
  send_line(command);
  return read_line(timeout).value_or("");
}

std::string line_process::stderr_text() const { return slurp(err_file_); }

bool line_process::wait_exit(std::chrono::milliseconds timeout) { return reap_within(pid_, timeout); }

} // namespace corral::test

namespace corral::test {

// ---- local_ensemble ----------------------------------------------------------------------------

uint16_t free_port() { return torture::free_port(); }

bool pause_process(pid_t pid, std::chrono::milliseconds timeout) {
  if (::kill(pid, SIGSTOP) != 0)
    return false;
  auto all_stopped = [pid] {
    auto tasks = fs::path("/proc") / std::to_string(pid) / "task";
    boost::system::error_code ec;
    for (fs::directory_iterator it(tasks, ec), end; !ec && it != end; it.increment(ec)) {
      // "pid (comm) S ...": the state follows the last ')' (comm may hold spaces and parentheses).
      auto stat = slurp((it->path() / "stat").string());
      auto close = stat.rfind(')');
      if (close == std::string::npos || close + 2 >= stat.size())
        return false;
      char state = stat[close + 2];
      if (state != 'T' && state != 't')
        return false;
    }
    return !ec;
  };
  return eventually(all_stopped, timeout);
}

local_ensemble::local_ensemble(int voters, int observers, std::vector<std::string> extra, bool name_zk_ports)
    : extra_(std::move(extra)) {
  with_fresh_ports([&] {
    client_ports.clear();
    quorum_ports.clear();
    zk_ports.clear();
    servers.clear();
    list_ = "[";
    for (int i = 1; i <= voters + observers; ++i) {
      client_ports.push_back(free_port());
      quorum_ports.push_back(free_port());
      if (name_zk_ports)
        zk_ports.push_back(free_port());
      list_ += (i > 1 ? "," : "") + std::string("\"") + std::to_string(i) +
               "=127.0.0.1:" + std::to_string(client_ports.back()) + ":" + std::to_string(quorum_ports.back()) +
               (i > voters ? ":observer" : "") + (name_zk_ports ? ";" + std::to_string(zk_ports.back()) : "") + "\"";
    }
    list_ += "]";
    for (int i = 1; i <= voters; ++i)
      start(i);
  });
}

void local_ensemble::start(int id) {
  std::vector<std::string> args{"--corral.server-id=" + std::to_string(id), "--corral.ensemble=" + list_,
                                "--corral.zab-tick-ms=50"};
  args.insert(args.end(), extra_.begin(), extra_.end());
  servers.push_back(std::make_unique<server_process>(args));
}

std::string local_ensemble::address(int i) const {
  return "127.0.0.1:" + std::to_string(client_ports[static_cast<size_t>(i)]);
}

std::vector<std::string> local_ensemble::all() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < client_ports.size(); ++i)
    out.push_back(address(static_cast<int>(i)));
  return out;
}

std::string local_ensemble::zk_connect_string() const {
  std::string out;
  for (auto& s : servers)
    if (s->pid() > 0)
      out += (out.empty() ? "" : ",") + s->zk_address();
  return out;
}

int local_ensemble::leader() const {
  int best = -1;
  size_t best_at = 0;
  for (size_t i = 0; i < servers.size(); ++i) {
    if (servers[i]->pid() <= 0)
      continue;
    auto log = servers[i]->log();
    auto at = log.rfind("serving as leader");
    auto lost = log.rfind("not serving");
    if (at != std::string::npos && (lost == std::string::npos || lost < at) && (best < 0 || at > best_at)) {
      best = static_cast<int>(i);
      best_at = at;
    }
  }
  return best;
}

} // namespace corral::test
