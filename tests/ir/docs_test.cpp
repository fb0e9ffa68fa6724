// docs/ir.md stays in step with the op table and the parser: every op has a row in its
// op table, and its example function parses and round-trips.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ir/op.h"
#include "ir/parser.h"
#include "ir/printer.h"

namespace kiln::ir {
namespace {

std::string read_doc() {
  std::ifstream in(KILN_SOURCE_DIR "/docs/ir.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Docs, EveryOpHasARow) {
  std::string doc = read_doc();
  ASSERT_FALSE(doc.empty()) << "docs/ir.md not found";
  for (const OpInfo& info : all_ops())
    EXPECT_NE(doc.find("| `" + std::string(info.text) + "` |"), std::string::npos)
        << "docs/ir.md has no row for op '" << info.text << "'";
}

TEST(Docs, ExampleParses) {
  std::string doc = read_doc();
  size_t start = doc.find("```\n// An MLP layer");
  ASSERT_NE(start, std::string::npos);
  start += 4;
  std::string example = doc.substr(start, doc.find("```", start) - start);
  Graph g = parse_graph(example);
  EXPECT_EQ(g.nodes.size(), 9u);
  std::string printed = print_graph(g);
  EXPECT_EQ(print_graph(parse_graph(printed)), printed);
}

}  // namespace
}  // namespace kiln::ir
