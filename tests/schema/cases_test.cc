// The validation corpus: tests/schema/cases/*.toml each hold a bad schema and, as comments, the
// diagnostics it must produce:
//   # expect: LINE:COL message-substring     (an error)
//   # warn: LINE:COL message-substring       (a warning)
// The test loads each file and asserts that the errors (and the warnings) are exactly the
// expected ones: every expectation matched by a diagnostic at that position whose message
// contains the substring, and no diagnostic left over. Every error must also carry a hint.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

#include "plinth/schema.h"

namespace plinth::schema {
namespace {

namespace fs = std::filesystem;

struct Expectation {
  Severity severity;
  SourcePos pos;
  std::string substring;
  int written_on_line;
};

std::vector<Expectation> ReadExpectations(const std::string& text) {
  static const std::regex kLine(R"(#\s*(expect|warn):\s*(\d+):(\d+)\s+(.*\S)\s*$)");
  std::vector<Expectation> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::smatch m;
    if (std::regex_search(line, m, kLine)) {
      out.push_back({m[1] == "expect" ? Severity::kError : Severity::kWarning,
                     {std::stoi(m[2]), std::stoi(m[3])},
                     m[4],
                     n});
    }
  }
  return out;
}

std::vector<fs::path> CaseFiles() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(PLINTH_SOURCE_DIR) / "tests/schema/cases")) {
    if (e.path().extension() == ".toml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Describe(const Diagnostic& d) {
  return std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) +
         (d.severity == Severity::kError ? " error: " : " warning: ") + d.message;
}

// Maximum matching of expectations to diagnostics (augmenting paths; the sets are small).
std::vector<int> Match(const std::vector<Expectation>& want, const std::vector<Diagnostic>& got) {
  auto fits = [&](size_t w, size_t g) {
    return want[w].severity == got[g].severity && want[w].pos.line == got[g].pos.line &&
           want[w].pos.column == got[g].pos.column && got[g].message.find(want[w].substring) != std::string::npos;
  };
  std::vector<int> owner(got.size(), -1);  // diagnostic → expectation
  for (size_t w = 0; w < want.size(); ++w) {
    std::vector<bool> seen(got.size(), false);
    std::function<bool(size_t)> augment = [&](size_t x) {
      for (size_t g = 0; g < got.size(); ++g) {
        if (seen[g] || !fits(x, g)) continue;
        seen[g] = true;
        if (owner[g] < 0 || augment(static_cast<size_t>(owner[g]))) {
          owner[g] = static_cast<int>(x);
          return true;
        }
      }
      return false;
    };
    augment(w);
  }
  return owner;
}

class SchemaCase : public ::testing::TestWithParam<fs::path> {};

TEST_P(SchemaCase, ProducesExactlyTheExpectedDiagnostics) {
  const fs::path path = GetParam();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::vector<Expectation> want = ReadExpectations(text.str());
  ASSERT_FALSE(want.empty()) << path << " has no '# expect:' lines";

  Diagnostics diags;
  Result<Schema> loaded = LoadSchemaFile(path.string(), diags);
  const bool expects_errors =
      std::any_of(want.begin(), want.end(), [](const Expectation& e) { return e.severity == Severity::kError; });
  EXPECT_EQ(loaded.ok(), !expects_errors) << "the load result must be an error exactly when errors are expected";

  const std::vector<Diagnostic>& got = diags.items();
  const std::vector<int> owner = Match(want, got);
  std::vector<bool> matched(want.size(), false);
  for (int w : owner) {
    if (w >= 0) matched[static_cast<size_t>(w)] = true;
  }
  std::string problems;
  for (size_t w = 0; w < want.size(); ++w) {
    if (!matched[w]) {
      problems += "  missing (case line " + std::to_string(want[w].written_on_line) + "): " +
                  std::to_string(want[w].pos.line) + ":" + std::to_string(want[w].pos.column) + " " +
                  want[w].substring + "\n";
    }
  }
  for (size_t g = 0; g < got.size(); ++g) {
    if (owner[g] < 0) problems += "  unexpected: " + Describe(got[g]) + "\n";
    if (got[g].file != path.string()) problems += "  wrong file name: " + got[g].file + "\n";
    if (got[g].severity == Severity::kError && got[g].hint.empty()) {
      problems += "  error without a hint: " + Describe(got[g]) + "\n";
    }
  }
  EXPECT_TRUE(problems.empty()) << path.filename() << ":\n" << problems << "all diagnostics:\n" << diags.ToString();
}

std::string CaseName(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, SchemaCase, ::testing::ValuesIn(CaseFiles()), CaseName);

TEST(SchemaCaseCorpus, ReadsExpectationComments) {
  auto want = ReadExpectations("x = 1\n# expect: 3:14 unknown key\n  # warn: 10:2 opts out  \n# not one\n");
  ASSERT_EQ(want.size(), 2u);
  EXPECT_EQ(want[0].severity, Severity::kError);
  EXPECT_EQ(want[0].pos.line, 3);
  EXPECT_EQ(want[0].pos.column, 14);
  EXPECT_EQ(want[0].substring, "unknown key");
  EXPECT_EQ(want[0].written_on_line, 2);
  EXPECT_EQ(want[1].severity, Severity::kWarning);
  EXPECT_EQ(want[1].substring, "opts out");
}

TEST(SchemaCaseCorpus, MatchingIsExactAboutPositionsAndCounts) {
  std::vector<Expectation> want = {{Severity::kError, {1, 2}, "bad", 0}, {Severity::kError, {1, 2}, "bad", 0}};
  std::vector<Diagnostic> got = {{Severity::kError, "f", {1, 2}, "bad thing", "h"}};
  std::vector<int> owner = Match(want, got);
  EXPECT_EQ(std::count(owner.begin(), owner.end(), -1), 0);  // the one diagnostic is matched …
  EXPECT_EQ(owner.size(), 1u);                                // … so one expectation stays missing
  got.push_back({Severity::kError, "f", {1, 3}, "bad thing", "h"});
  owner = Match(want, got);
  EXPECT_EQ(owner[1], -1) << "a different column does not match";
}

}  // namespace
}  // namespace plinth::schema
