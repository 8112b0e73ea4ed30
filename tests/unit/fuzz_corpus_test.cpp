// The fuzz targets (tests/fuzz/targets.hpp) in every test run: each replays its saved corpus
// (tests/fuzz/corpus/<target>/: seeds, and inputs that once found a bug), then runs on mutations of it
// and on random bytes. A crash or a sanitizer report (the ASan build in CI) fails the run; libFuzzer
// (tests/fuzz/run.sh) searches far longer.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include <boost/filesystem.hpp>

#include "tests/fuzz/targets.hpp"

namespace fs = boost::filesystem;

namespace {

std::vector<std::string> corpus_of(const std::string& target) {
  std::vector<std::string> out;
  fs::path dir = fs::path(FUZZ_CORPUS_DIR) / target;
  if (!fs::is_directory(dir))
    return out;
  for (auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path().string(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

void run(const corral::fuzz::target& t, const std::string& input) {
  t.run(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

} // namespace

TEST(fuzz_corpus, every_target_has_seeds_and_survives_them_their_mutations_and_random_bytes) {
  std::mt19937 rng(20261201);
  for (auto& t : corral::fuzz::all_targets()) {
    auto corpus = corpus_of(t.name);
    EXPECT_GE(corpus.size(), 2u) << "no seed corpus for " << t.name;
    for (auto& input : corpus)
      run(t, input);
    for (auto& input : corpus)
      for (int m = 0; m < 300 && !input.empty(); ++m) {
        auto mutated = input;
        for (int k = 0, flips = 1 + static_cast<int>(rng() % 4); k < flips; ++k)
          mutated[rng() % mutated.size()] ^= static_cast<char>(1u << (rng() % 8));
        if (rng() % 4 == 0)
          mutated.resize(rng() % mutated.size());
        run(t, mutated);
      }
    for (int i = 0; i < 500; ++i) {
      std::string random(rng() % 512, '\0');
      for (auto& c : random)
        c = static_cast<char>(rng());
      run(t, random);
    }
  }
}
