// TCP proxies that stand between the servers of an ensemble, one per server pair, so that the
// harness can partition them without root or iptables. Each server's configuration names the proxy
// where the peer's quorum address would be; the proxy forwards to the real one.
//
// A cut link behaves like a network that stopped delivering: bytes already on its connections stay
// where they are (nothing is dropped from the middle of a TCP stream, which no real network does
// either), nothing more is forwarded, and a new connection is accepted but reaches nobody. The
// servers notice by their own timeouts, as they would in a real partition. Healing closes the
// connections that lived through the cut (a real TCP connection would have timed out) and lets new
// ones through.
//
// One thread runs every link (poll; non-blocking sockets with a bounded buffer per direction, so a
// paused server stalls only its own connections). The methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace corral::torture {

class link_proxies {
public:
  link_proxies();
  ~link_proxies();
  link_proxies(const link_proxies&) = delete;
  link_proxies& operator=(const link_proxies&) = delete;

  // A new link to 127.0.0.1:`target_port`; returns its index. Listens on `listen_port` (0: any).
  size_t add(uint16_t target_port, uint16_t listen_port = 0);
  uint16_t port(size_t link) const;
  void cut(size_t link);
  void heal(size_t link);
  bool is_cut(size_t link) const;
  // Bytes forwarded on every link so far (tests use it to see traffic flow and stop).
  uint64_t forwarded() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace corral::torture
