#include "actors/client/recipe_support.hpp"

#include <random>

namespace corral::client::detail {

namespace {
response gone_session() {
  response r;
  r.err = error_code::session_expired;
  r.detail = "the session actor is gone";
  return r;
}
} // namespace

void ask(caf::event_based_actor* self, const caf::actor& session, request_body body, reply_fn fn) {
  self->request(session, caf::infinite, std::move(body))
      .then([fn](response& r) { fn(r); },
            [fn](caf::error&) {
              auto r = gone_session();
              fn(r);
            });
}

void ask_watch(caf::event_based_actor* self, const caf::actor& session, request_body body, reply_fn fn) {
  self->request(session, caf::infinite, atoms::watch::value, std::move(body), caf::actor_cast<caf::actor>(self))
      .then([fn](response& r) { fn(r); },
            [fn](caf::error&) {
              auto r = gone_session();
              fn(r);
            });
}

void make_containers(caf::event_based_actor* self, const caf::actor& session, const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/')
      ask(self, session, create_request{path.substr(0, i), "", open_acl_unsafe(), create_mode::container},
          [](response&) {});
}

void start_loss_clock(caf::event_based_actor* self, const caf::actor& session, uint64_t epoch) {
  self->request(session, std::chrono::seconds(10), atoms::timeout::value)
      .then([self, epoch](
                int32_t ms) { self->delayed_send(self, std::chrono::milliseconds(ms), atoms::expired::value, epoch); },
            [](caf::error&) {});
}

std::string random_uuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~uint64_t{0xF000}) | 0x4000;                     // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60); // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

std::string encode_be(int64_t v, size_t bytes) {
  std::string out(bytes, '\0');
  auto u = static_cast<uint64_t>(v);
  for (size_t i = 0; i < bytes; ++i)
    out[bytes - 1 - i] = static_cast<char>((u >> (8 * i)) & 0xFF);
  return out;
}

std::optional<int64_t> decode_be(const std::string& data, size_t bytes) {
  if (data.size() != bytes)
    return std::nullopt;
  uint64_t u = 0;
  for (size_t i = 0; i < bytes; ++i)
    u = (u << 8) | static_cast<uint8_t>(data[i]);
  if (bytes < 8 && (u >> (8 * bytes - 1)) != 0) // sign-extend
    u |= ~uint64_t{0} << (8 * bytes);
  return static_cast<int64_t>(u);
}

} // namespace corral::client::detail
