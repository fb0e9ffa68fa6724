// The frontend offers every unary op of the op table (ir/ops.def): frontend/kiln/kiln.h
// declares a function named as the op, so a new row without its frontend function fails
// here by name. (Its definition is in frontend/elementwise.cpp; a declared function
// without one fails to link where it is called.)
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "ir/op.h"

namespace kiln {
namespace {

TEST(FrontendOps, EveryUnaryOpHasAFunction) {
  std::ifstream in(KILN_SOURCE_DIR "/frontend/kiln/kiln.h");
  std::stringstream header;
  header << in.rdbuf();
  ASSERT_FALSE(header.str().empty()) << "frontend/kiln/kiln.h not found";
  // Frontend names that differ from the IR's.
  const std::map<std::string_view, std::string_view> renamed = {{"not", "logical_not"}};
  for (const ir::OpInfo& info : ir::all_ops()) {
    if (info.category != ir::OpCategory::Unary) continue;
    auto it = renamed.find(info.text);
    std::string name(it == renamed.end() ? info.text : it->second);
    EXPECT_NE(header.str().find("\nTensor " + name + "(const Tensor& x"), std::string::npos)
        << "op '" << info.text << "': frontend/kiln/kiln.h declares no Tensor " << name
        << "(const Tensor& x, ...); add it there and define it in frontend/elementwise.cpp";
  }
}

}  // namespace
}  // namespace kiln
