// The IR text form, reading side: parses the function that ir/printer.h prints (grammar
// in docs/ir.md) back into a Graph. Comments (`//` to the end of the line) and free
// whitespace are allowed. Every node is type checked as it is read (ir/verifier.h).
// Any malformed input, however odd, throws ParseError(line, column, message), never
// crashes: that is what tests/ir/parser_error_test.cpp and its fuzz loop check.
#pragma once

#include <string_view>

#include "ir/graph.h"

namespace kiln::ir {

// Parses one function. Parameters keep their names (Node::name); body values get new
// nodes with no source location.
Graph parse_graph(std::string_view text);

// Parses a lone type such as "f32[32,128]" or "bool[]".
Type parse_type(std::string_view text);

}  // namespace kiln::ir
