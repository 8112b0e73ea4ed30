// The epochs file (persistence/epochs): what a ZAB server must not forget survives a round trip, a
// missing file means a fresh server, and a damaged one stops the server with a reason.
#include <gtest/gtest.h>

#include <fstream>

#include <boost/filesystem.hpp>

#include "core/types.hpp"
#include "persistence/epochs.hpp"

using namespace corral;
namespace fs = boost::filesystem;

namespace {

struct temp_dir {
  fs::path path = fs::temp_directory_path() / fs::unique_path("corral-epochs-%%%%-%%%%");
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() {
    boost::system::error_code ec;
    fs::remove_all(path, ec);
  }
};

} // namespace

TEST(epochs_file, what_is_written_is_read_back) {
  temp_dir d;
  auto path = (d.path / persistence::epochs_file_name).string();
  ASSERT_EQ(persistence::write_epochs(path, {7, 6}).code, error_code::ok);
  auto back = persistence::read_epochs(path);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(back->accepted_epoch, 7u);
  EXPECT_EQ(back->current_epoch, 6u);
}

TEST(epochs_file, a_missing_file_is_a_fresh_server) {
  temp_dir d;
  auto back = persistence::read_epochs((d.path / "epochs").string());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->accepted_epoch, 0u);
  EXPECT_EQ(back->current_epoch, 0u);
}

TEST(epochs_file, damaged_contents_are_refused_with_the_file_named) {
  for (std::string text :
       {"", "accepted=3\n", "accepted=3\ncurrent=x\n", "accepted=3\ncurrent=2\ncurrent=2\n", "accepted=3\ncurrent=4\n",
        "accepted=99999999999999999999\ncurrent=1\n", "accepted=-1\ncurrent=0\n", "garbage"}) {
    auto r = persistence::parse_epochs(text, "/data/epochs");
    ASSERT_FALSE(r.ok()) << "accepted: '" << text << "'";
    EXPECT_NE(r.error().detail.find("/data/epochs"), std::string::npos) << r.error().detail;
  }
  auto ok = persistence::parse_epochs(persistence::format_epochs({12, 12}), "x");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->current_epoch, 12u);
}

TEST(epochs_file, an_unreadable_file_is_an_error_not_epoch_zero) {
  temp_dir d;
  auto path = d.path / "epochs";
  fs::create_directories(path); // a directory where the file should be: open works, read fails
  EXPECT_FALSE(persistence::read_epochs(path.string()).ok());
}

TEST(zxids, are_an_epoch_and_a_counter) {
  auto z = make_zxid(5, 9);
  EXPECT_EQ(z, (int64_t{5} << 32) | 9);
  EXPECT_EQ(epoch_of(z), 5u);
  EXPECT_EQ(counter_of(z), 9u);
  EXPECT_TRUE(zxid_follows(z, z + 1));
  EXPECT_TRUE(zxid_follows(z, make_zxid(6, 1)));
  EXPECT_FALSE(zxid_follows(z, make_zxid(6, 2)));
  EXPECT_FALSE(zxid_follows(z, z + 2));
  EXPECT_FALSE(zxid_follows(z, z));
}
