#include "actors/client/connection.hpp"

#include <cerrno>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace corral::client {

namespace {

// One read takes at most this much; a bigger response arrives over several reads (the session's
// frame reader joins them).
constexpr size_t read_chunk = 64 * 1024;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

} // namespace

std::shared_ptr<connection> connection::start(int fd, callbacks cb) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // requests are small and waited for
  int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    ::close(fd);
    auto why = errno_text("eventfd");
    if (cb.closed)
      cb.closed(why);
    return nullptr;
  }
  std::shared_ptr<connection> c(new connection(fd, wake, std::move(cb)));
  // The thread keeps the connection (and so its fds) until it ends; close() ends it.
  std::thread([c] { c->run(); }).detach();
  return c;
}

connection::connection(int fd, int wake_fd, callbacks cb) : fd_(fd), wake_fd_(wake_fd), cb_(std::move(cb)) {}

connection::~connection() {
  ::close(fd_);
  ::close(wake_fd_);
}

void connection::wake() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

// Sends what the socket takes now; `sent` counts it. False on an error (recorded as broken_why_).
// The caller holds mu_.
bool connection::send_now(const char* data, size_t size, size_t& sent) {
  sent = 0;
  while (sent < size) {
    auto n = ::send(fd_, data + sent, size - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      broken_why_ = errno_text("send");
      broken_ = true;
      return false;
    }
  }
  return true;
}

bool connection::write(const char* data, size_t size) {
  std::lock_guard<std::mutex> guard(mu_);
  if (broken_.load() || stopping_.load())
    return false;
  if (backlog_.empty()) {
    size_t sent = 0;
    if (!send_now(data, size, sent)) {
      wake();
      return false;
    }
    data += sent;
    size -= sent;
    if (size == 0)
      return true;
  }
  if (backlog_.size() + size > max_backlog_bytes) {
    broken_why_ = "the server has not read " + std::to_string(backlog_.size()) + " bytes sent to it";
    broken_ = true;
    wake();
    return false;
  }
  backlog_.insert(backlog_.end(), data, data + size);
  if (!want_out_.exchange(true))
    wake();
  return true;
}

bool connection::flush_backlog() {
  std::lock_guard<std::mutex> guard(mu_);
  size_t sent = 0;
  bool ok = send_now(backlog_.data(), backlog_.size(), sent);
  backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(sent));
  if (backlog_.empty())
    want_out_ = false;
  return ok;
}

void connection::close() {
  if (stopping_.exchange(true))
    return;
  ::shutdown(fd_, SHUT_RDWR);
  wake();
}

void connection::run() {
  std::vector<char> buf(read_chunk);
  std::string why;
  for (;;) {
    pollfd fds[2] = {{fd_, static_cast<short>(POLLIN | (want_out_.load() ? POLLOUT : 0)), 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      why = errno_text("poll");
      break;
    }
    if (fds[1].revents != 0) {
      uint64_t count;
      [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof count);
    }
    if (stopping_.load())
      return;
    if (broken_.load()) {
      std::lock_guard<std::mutex> guard(mu_);
      why = broken_why_;
      break;
    }
    if ((fds[0].revents & POLLOUT) != 0 && !flush_backlog()) {
      std::lock_guard<std::mutex> guard(mu_);
      why = broken_why_;
      break;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
      continue;
    auto n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n > 0) {
      if (cb_.data)
        cb_.data(std::vector<char>(buf.data(), buf.data() + n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
      continue;
    why = n == 0 ? "connection closed by the server" : errno_text("recv");
    break;
  }
  if (!stopping_.load() && cb_.closed)
    cb_.closed(why);
}

} // namespace corral::client
