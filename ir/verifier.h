// The IR verifier: the typing rule of every op in ir/ops.def (arity, attributes, dtypes,
// shapes) and the graph invariants (parameters, definition before use, results,
// constant buffers). Every failure throws VerifyError naming the op, the value and the
// types. The parser runs the same rules on each node it reads; the pass manager runs
// verify() around passes. Tests: tests/ir/verifier_test.cpp.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace kiln::ir {

// True when the dimensions of `shape` other than 0, times `element_size` bytes, overflow
// int64. Every reader of user shapes refuses such a shape (verify_type, the frontend's
// ops, the file readers), so numel(), nbytes() and the strides of an accepted shape never
// overflow; a shape with a 0 is only accepted when the rest would fit too.
bool size_overflows(const Shape& shape, int64_t element_size);

// Checks that a type is well formed: rank <= kMaxRank, no negative dimension, and a size
// in bytes that fits in int64. `what` names the value in the message.
void verify_type(const Type& type, const std::string& what);

// The result type of `op` applied to operands of `operand_types` with `attrs` (in the op
// table's order). Ops whose result is not determined by their operands (sources, cast,
// reshape, broadcast, slice) take it from `declared`, after checking it fits. Throws
// VerifyError "<op>: <what is wrong>".
Type infer_type(OpKind op, const std::vector<Type>& operand_types,
                const std::vector<AttrValue>& attrs, const Type& declared);

// Checks one node on its own: operands present, infer_type agrees with node.type, and a
// constant's buffer matches its type.
void verify_node(const Node& node);

// Checks the whole graph: params are Parameter nodes; every operand is a parameter or an
// earlier body node (so the body is acyclic and in topological order); each node passes
// verify_node; results are values of the graph. Messages name the value as printed
// ("%3").
void verify(const Graph& graph);

}  // namespace kiln::ir
