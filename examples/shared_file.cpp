// shared_file: processes share a file through a read/write lock (Curator's InterProcessReadWriteLock
// layout), written as plain code with the blocking facade. A writer rewrites the file in two steps
// (first line, a pause, then both lines), so a reader that looked in between would see the lines
// disagree; readers hold the read lock while they read, many at once, and never see that.
//   build/shared_file --server=127.0.0.1:2281 --file=/tmp/shared --role=writer --rounds=20 &
//   build/shared_file --server=127.0.0.1:2281 --file=/tmp/shared --role=reader --rounds=50
// A reader prints "read <version>" (or "torn <first> <second>", which the lock prevents); the
// writer prints "wrote <version>". Both print "done" at the end.
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "actors/client/blocking_client.hpp"

using namespace corral;
using namespace std::chrono_literals;

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]).rfind("--" + name + "=", 0) == 0)
      return std::string(argv[i]).substr(name.size() + 3);
  return fallback;
}

void write_file(const std::string& file, const std::string& first, const std::string& second) {
  std::ofstream out(file, std::ios::trunc);
  out << first << "\n" << second << "\n";
}

std::pair<std::string, std::string> read_file(const std::string& file) {
  std::ifstream in(file);
  std::string a, b;
  std::getline(in, a);
  std::getline(in, b);
  return {a, b};
}

} // namespace

int main(int argc, char** argv) {
  auto server = arg(argc, argv, "server", "127.0.0.1:2281");
  auto file = arg(argc, argv, "file", "/tmp/corral-shared-file");
  auto role = arg(argc, argv, "role", "reader");
  int rounds = std::stoi(arg(argc, argv, "rounds", "20"));
  client::client_options opts;
  opts.servers = {server};
  client::blocking_client c(opts);
  if (!c.wait_connected(10s)) {
    std::cerr << "cannot reach " << server << ": is corral-server running?" << std::endl;
    return 1;
  }
  auto lock = c.rw_lock("/locks/shared-file");
  bool writer = role == "writer";
  auto kind = writer ? client::lock_kind::write : client::lock_kind::read;
  for (int i = 1; i <= rounds; ++i) {
    auto held = lock->acquire(30s, kind);
    if (!held.ok()) {
      std::cerr << "cannot take the " << client::to_string(kind) << " lock: " << held.error().to_string() << std::endl;
      return 1;
    }
    if (writer) {
      auto version = "version " + std::to_string(i);
      auto [old_first, old_second] = read_file(file);
      write_file(file, version, old_second); // half done: the lines disagree
      std::this_thread::sleep_for(20ms);
      write_file(file, version, version);
      std::cout << "wrote " << i << std::endl;
    } else {
      auto [first, second] = read_file(file);
      std::this_thread::sleep_for(5ms); // readers overlap each other, never a writer
      if (first == second)
        std::cout << "read " << (first.empty() ? "none" : first.substr(8)) << std::endl;
      else
        std::cout << "torn " << first << " | " << second << std::endl;
    }
    lock->release(kind);
    std::this_thread::sleep_for(writer ? 10ms : 2ms);
  }
  std::cout << "done" << std::endl;
}
