#include "tools/torture/link_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace corral::torture {

namespace {

constexpr size_t buffer_limit = 1 << 20; // per direction: a stalled reader stalls its writer beyond this

void non_blocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

void no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

struct link {
  int listen_fd = -1;
  uint16_t port = 0, target = 0;
  bool cut = false;
  uint64_t epoch = 0; // bumped by cut and heal: a connection from an older epoch lived through a cut
};

struct connection {
  size_t link = 0;
  uint64_t epoch = 0;
  int a = -1, b = -1; // a: accepted from the dialling server; b: to the target
  bool connecting = false;
  std::string a_to_b, b_to_a;
  bool closed = false;
};

} // namespace

struct link_proxies::impl {
  mutable std::mutex mtx;
  std::vector<link> links;     // guarded by mtx
  std::list<connection> conns; // the thread's own
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> forwarded{0};
  std::thread thread;

  void poke() {
    char c = 1;
    [[maybe_unused]] auto n = ::write(wake[1], &c, 1);
  }

  void run() {
    while (!stopping) {
      std::vector<link> now;
      {
        std::lock_guard<std::mutex> g(mtx);
        now = links;
      }
      retire(now);
      std::vector<pollfd> fds{{wake[0], POLLIN, 0}};
      for (auto& l : now)
        fds.push_back({l.listen_fd, POLLIN, 0});
      std::vector<connection*> polled;
      for (auto& c : conns) {
        if (now[c.link].cut)
          continue; // stalled: nothing moves until the link heals (and then it is closed)
        short ea = 0, eb = 0;
        if (c.a_to_b.size() < buffer_limit)
          ea |= POLLIN;
        if (!c.b_to_a.empty())
          ea |= POLLOUT;
        if (c.connecting || !c.a_to_b.empty())
          eb |= POLLOUT;
        if (!c.connecting && c.b_to_a.size() < buffer_limit)
          eb |= POLLIN;
        fds.push_back({c.a, ea, 0});
        fds.push_back({c.b, eb, 0});
        polled.push_back(&c);
      }
      if (::poll(fds.data(), fds.size(), 200) < 0)
        continue;
      if (fds[0].revents & POLLIN) {
        char buf[64];
        while (::read(wake[0], buf, sizeof buf) > 0) {
        }
      }
      for (size_t i = 0; i < now.size(); ++i)
        if (fds[1 + i].revents & POLLIN)
          accept_on(i, now[i]);
      size_t at = 1 + now.size();
      for (auto* c : polled) {
        serve(*c, fds[at].revents, fds[at + 1].revents);
        at += 2;
      }
      conns.remove_if([](const connection& c) { return c.closed; });
    }
    for (auto& c : conns)
      close(c);
  }

  // Closes the connections that lived through a cut that has healed.
  void retire(const std::vector<link>& now) {
    for (auto& c : conns)
      if (!now[c.link].cut && c.epoch != now[c.link].epoch)
        close(c);
    conns.remove_if([](const connection& c) { return c.closed; });
  }

  void accept_on(size_t index, const link& l) {
    int fd = ::accept(l.listen_fd, nullptr, nullptr);
    if (fd < 0)
      return;
    non_blocking(fd);
    no_delay(fd);
    connection c;
    c.link = index;
    c.epoch = l.epoch;
    c.a = fd;
    if (!l.cut) {
      c.b = ::socket(AF_INET, SOCK_STREAM, 0);
      non_blocking(c.b);
      no_delay(c.b);
      auto addr = loopback(l.target);
      if (::connect(c.b, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EINPROGRESS) {
          close(c);
          return;
        }
        c.connecting = true;
      }
    }
    conns.push_back(std::move(c));
  }

  void serve(connection& c, short ra, short rb) {
    if (c.connecting && (rb & (POLLOUT | POLLERR | POLLHUP))) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.b, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0)
        return close(c);
      c.connecting = false;
    }
    if (c.connecting)
      return;
    if ((ra & (POLLIN | POLLHUP | POLLERR)) && !pull(c.a, c.a_to_b))
      return close(c);
    if ((rb & (POLLIN | POLLHUP | POLLERR)) && !pull(c.b, c.b_to_a))
      return close(c);
    if (!push(c.b, c.a_to_b) || !push(c.a, c.b_to_a))
      return close(c);
  }

  // Reads what is there into `into`; false once the peer has closed or failed.
  static bool pull(int fd, std::string& into) {
    char buf[65536];
    size_t room = buffer_limit > into.size() ? buffer_limit - into.size() : 0;
    if (room == 0)
      return true;
    ssize_t n = ::read(fd, buf, std::min(room, sizeof buf));
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      return true;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }

  bool push(int fd, std::string& from) {
    while (!from.empty()) {
      ssize_t n = ::send(fd, from.data(), from.size(), MSG_NOSIGNAL);
      if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      forwarded += static_cast<uint64_t>(n);
      from.erase(0, static_cast<size_t>(n));
    }
    return true;
  }

  static void close(connection& c) {
    if (c.a >= 0)
      ::close(c.a);
    if (c.b >= 0)
      ::close(c.b);
    c.a = c.b = -1;
    c.closed = true;
  }
};

link_proxies::link_proxies() : impl_(std::make_unique<impl>()) {
  if (::pipe(impl_->wake) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  non_blocking(impl_->wake[0]);
  non_blocking(impl_->wake[1]);
}

link_proxies::~link_proxies() {
  impl_->stopping = true;
  impl_->poke();
  if (impl_->thread.joinable())
    impl_->thread.join();
  for (auto& l : impl_->links)
    ::close(l.listen_fd);
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

size_t link_proxies::add(uint16_t target_port, uint16_t listen_port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto addr = loopback(listen_port);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("a link proxy cannot listen on 127.0.0.1:" + std::to_string(listen_port) + ": " + why);
  }
  non_blocking(fd);
  std::lock_guard<std::mutex> g(impl_->mtx);
  link l;
  l.listen_fd = fd;
  l.port = ntohs(addr.sin_port);
  l.target = target_port;
  impl_->links.push_back(l);
  if (!impl_->thread.joinable())
    impl_->thread = std::thread([this] { impl_->run(); });
  impl_->poke();
  return impl_->links.size() - 1;
}

uint16_t link_proxies::port(size_t link) const {
  std::lock_guard<std::mutex> g(impl_->mtx);
  return impl_->links.at(link).port;
}

void link_proxies::cut(size_t link) {
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    auto& l = impl_->links.at(link);
    if (l.cut)
      return;
    l.cut = true;
    ++l.epoch;
  }
  impl_->poke();
}

void link_proxies::heal(size_t link) {
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    auto& l = impl_->links.at(link);
    if (!l.cut)
      return;
    l.cut = false;
    ++l.epoch;
  }
  impl_->poke();
}

bool link_proxies::is_cut(size_t link) const {
  std::lock_guard<std::mutex> g(impl_->mtx);
  return impl_->links.at(link).cut;
}

uint64_t link_proxies::forwarded() const { return impl_->forwarded; }

} // namespace corral::torture
