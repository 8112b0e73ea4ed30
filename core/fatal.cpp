#include "core/fatal.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace corral {

namespace {
std::atomic<fatal_writer> writer{nullptr};
} // namespace

void set_fatal_writer(fatal_writer w) { writer = w; }

void fatal_at(const char* file, int line, const char* component, const std::string& what) {
  auto text = what + " [" + file + ":" + std::to_string(line) + "]; stopping now";
  if (auto w = writer.load()) {
    w(component, text);
  } else {
    std::fprintf(stderr, "FATAL %s: %s\n", component, text.c_str());
    std::fflush(stderr);
  }
  std::_Exit(70);
}

} // namespace corral
