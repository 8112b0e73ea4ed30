// One libFuzzer binary per target (tests/fuzz/targets.hpp); FUZZ_TARGET names it at compile time.
#include "tests/fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  corral::fuzz::FUZZ_TARGET(data, size);
  return 0;
}
