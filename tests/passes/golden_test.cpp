// IR golden tests: every tests/ir/<pass>/*.kir file is a list of cases, each an input
// function followed by `// CHECK:` lines holding the whole expected output. Each case runs
// through the pass named by the folder (or by a `// PASSES: a,b` first line), and must
// print exactly as expected, keep its values on random inputs, be left unchanged by a
// second run, and leave its input graph's nodes untouched. The format and the update
// script are described in tests/ir/README.md.
//
// KILN_UPDATE_GOLDENS=1 rewrites the CHECK lines from the current output instead of
// comparing (scripts/update_ir_goldens.sh does that).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "pass_test_util.h"
#include "passes/pipeline.h"

namespace kiln::passes {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenRoot = fs::path(KILN_SOURCE_DIR) / "tests" / "ir";
constexpr std::string_view kSeparator = "// -----";
constexpr std::string_view kCheck = "// CHECK:";
constexpr std::string_view kPassesHeader = "// PASSES:";

struct Case {
  int line = 1;                     // where the case starts in its file
  std::vector<std::string> input;   // every line that is not a CHECK line
  std::vector<std::string> checks;  // the CHECK lines' text
};

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<Case> split_cases(const std::vector<std::string>& lines) {
  std::vector<Case> cases(1);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line == kSeparator) {
      cases.push_back(Case{static_cast<int>(i) + 2, {}, {}});
    } else if (line.starts_with(kCheck)) {
      std::string text = line.substr(kCheck.size());
      cases.back().checks.push_back(text.starts_with(' ') ? text.substr(1) : text);
    } else {
      cases.back().input.push_back(line);
    }
  }
  return cases;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += l + "\n";
  return s;
}

// The passes a file runs: its `// PASSES:` line, else the pass named by its folder
// ("pipeline" meaning the default pipeline).
PassManager passes_for(const fs::path& file, const std::vector<std::string>& lines) {
  PassOptions options;
  options.verify_each = true;
  std::string folder = file.parent_path().filename().string();
  if (!lines.empty() && lines[0].starts_with(kPassesHeader)) {
    std::string list = lines[0].substr(kPassesHeader.size());
    list.erase(0, list.find_first_not_of(' '));
    return pipeline_of(parse_pass_list(list), options);
  }
  if (folder == "pipeline") return default_pipeline(options);
  return pipeline_of({find_pass(folder)}, options);
}

// The CHECK lines that say `output`, each `// CHECK: text` (or `// CHECK:` when empty).
std::vector<std::string> check_lines(const std::string& output) {
  std::vector<std::string> out;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    out.push_back(line.empty() ? std::string(kCheck) : std::string(kCheck) + " " + line);
  return out;
}

void write_updated(const fs::path& file, const std::vector<Case>& cases,
                   const std::vector<std::string>& outputs) {
  std::string text;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (i) text += std::string(kSeparator) + "\n";
    std::vector<std::string> input = cases[i].input;
    while (!input.empty() && input.back().empty()) input.pop_back();
    text += join(input) + join(check_lines(outputs[i]));
  }
  std::ofstream(file) << text;
}

// The .kir files of the folders named for a registered pass, and of pipeline/ (other
// folders of tests/ir belong to the IR's own tests).
std::vector<fs::path> golden_files() {
  std::vector<std::string> folders = {"pipeline"};
  for (const Pass& p : registered_passes()) folders.push_back(p.name);
  std::vector<fs::path> files;
  for (const std::string& folder : folders) {
    if (!fs::is_directory(kGoldenRoot / folder)) continue;
    for (const auto& entry : fs::directory_iterator(kGoldenRoot / folder))
      if (entry.is_regular_file() && entry.path().extension() == ".kir")
        files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class IrGolden : public ::testing::TestWithParam<fs::path> {};

TEST_P(IrGolden, Cases) {
  const fs::path& file = GetParam();
  const std::vector<std::string> lines = read_lines(file);
  const std::vector<Case> cases = split_cases(lines);
  const PassManager passes = passes_for(file, lines);
  const bool update = std::getenv("KILN_UPDATE_GOLDENS") != nullptr;
  std::vector<std::string> outputs;

  for (const Case& c : cases) {
    SCOPED_TRACE(file.string() + ":" + std::to_string(c.line));
    ir::Graph before;
    try {
      before = ir::parse_graph(join(c.input));
    } catch (const Error& e) {
      ADD_FAILURE() << "the case's input does not parse: " << e.what();
      outputs.push_back(join(c.checks));
      continue;
    }
    const std::string before_text = ir::print_graph(before);
    ir::Graph after = before;  // shares the nodes, which the passes must not mutate
    passes.run(after);
    const std::string output = ir::print_graph(after);
    outputs.push_back(output);

    if (!update) {
      EXPECT_EQ(join(c.checks), output);
    }
    EXPECT_EQ(before_text, ir::print_graph(before)) << "a pass mutated its input's nodes";
    EXPECT_TRUE(testing::same_results(before, after));
    ir::Graph again = after;
    passes.run(again);
    EXPECT_EQ(output, ir::print_graph(again)) << "a second run changed the output again";
  }
  // A file whose cases fail the other checks keeps its old text: an update must not
  // record a wrong value.
  if (update && !HasFailure()) write_updated(file, cases, outputs);
}

std::string case_name(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name =
      info.param.parent_path().filename().string() + "_" + info.param.stem().string();
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Passes, IrGolden, ::testing::ValuesIn(golden_files()), case_name);

TEST(IrGoldenFiles, EveryRegisteredPassHasGoldens) {
  for (const Pass& p : registered_passes())
    EXPECT_TRUE(fs::is_directory(kGoldenRoot / p.name)) << "no tests/ir/" << p.name << "/";
  EXPECT_TRUE(fs::is_directory(kGoldenRoot / "pipeline"));
}

}  // namespace
}  // namespace kiln::passes
