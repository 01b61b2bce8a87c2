// Replays every input of fuzz/corpus/http_request (the seeds, and the inputs that once crashed
// the fuzz target, kept as regressions) through the fuzz target's code path, so that `make
// test` checks them in every build, not only in the clang fuzz build. The target traps when an
// invariant breaks; a crash fails this test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../../fuzz/http_request_fuzz.cc"  // LLVMFuzzerTestOneInput

namespace {

TEST(HttpFuzzCorpusTest, EveryCorpusInputRunsCleanly) {
  std::filesystem::path dir = std::filesystem::path(PLINTH_SOURCE_DIR) / "fuzz/corpus/http_request";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().filename().string());
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    // The same bytes delivered one byte at a time and all at once.
    for (char chunking : {'\x01', '\x00'}) {
      std::string again = bytes;
      if (!again.empty()) again[0] = chunking;
      EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(again.data()), again.size()), 0);
    }
    ++inputs;
  }
  EXPECT_GE(inputs, 10);
}

}  // namespace
