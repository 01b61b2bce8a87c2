// Replays every input of fuzz/corpus/{filter_parser,body_validator,policy_parser,schema_parser}
// (the seeds, and any input that once made a target trap or crash, kept there as a regression)
// through the fuzz targets' own code, so `make test` checks them in every build and not only in
// the clang fuzz build. A target traps when one of its invariants breaks: that fails (kills) the
// test. tests/http/fuzz_corpus_test.cc does the same for the HTTP request target.
//
// The four targets are compiled into this one file: each sits in its own namespace with its
// entry point renamed, and every header they include is included first (so their own #includes
// inside the namespaces are no-ops).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "api/rest_fixture.h"
#include "plinth/expr.h"
#include "plinth/rest.h"
#include "plinth/schema.h"

#define LLVMFuzzerTestOneInput FilterParserFuzzOne
namespace filter_fuzz {
#include "../../fuzz/filter_parser_fuzz.cc"
}
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput BodyValidatorFuzzOne
namespace body_fuzz {
#include "../../fuzz/body_validator_fuzz.cc"
}
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput PolicyParserFuzzOne
namespace policy_fuzz {
#include "../../fuzz/policy_parser_fuzz.cc"
}
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput SchemaParserFuzzOne
namespace schema_fuzz {
#include "../../fuzz/schema_parser_fuzz.cc"
}
#undef LLVMFuzzerTestOneInput

namespace {

using Target = int (*)(const uint8_t*, size_t);

// Runs every file of fuzz/corpus/<name> through `target`; returns how many there were.
int Replay(const std::string& name, Target target) {
  const std::filesystem::path dir = std::filesystem::path(PLINTH_SOURCE_DIR) / "fuzz/corpus" / name;
  EXPECT_TRUE(std::filesystem::is_directory(dir)) << dir;
  if (!std::filesystem::is_directory(dir)) return 0;
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(name + "/" + entry.path().filename().string());
    EXPECT_EQ(target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    // Every prefix length that cuts a token in half is an input too (bounded: small files only).
    constexpr size_t kPrefixesUpTo = 512;
    if (bytes.size() <= kPrefixesUpTo) {
      for (size_t n = 0; n < bytes.size(); ++n) (void)target(reinterpret_cast<const uint8_t*>(bytes.data()), n);
    }
    ++inputs;
  }
  return inputs;
}

TEST(FuzzCorpusTest, FilterParserInputsRunCleanly) { EXPECT_GE(Replay("filter_parser", &filter_fuzz::FilterParserFuzzOne), 5); }

TEST(FuzzCorpusTest, BodyValidatorInputsRunCleanly) { EXPECT_GE(Replay("body_validator", &body_fuzz::BodyValidatorFuzzOne), 5); }

TEST(FuzzCorpusTest, PolicyParserInputsRunCleanly) { EXPECT_GE(Replay("policy_parser", &policy_fuzz::PolicyParserFuzzOne), 5); }

TEST(FuzzCorpusTest, SchemaParserInputsRunCleanly) { EXPECT_GE(Replay("schema_parser", &schema_fuzz::SchemaParserFuzzOne), 3); }

}  // namespace
