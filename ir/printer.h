// The IR text form, printing side: a graph prints as one MLIR-like function,
//
//   func @main(%x: f32[32,128], %w: f32[128]) -> (f32[32,128]) {
//     %0 = broadcast %w : f32[32,128]
//     %1 = add %x, %0 : f32[32,128]
//     return %1
//   }
//
// The grammar is in docs/ir.md; ir/parser.h reads it back, and print -> parse -> print gives
// identical text (tests/ir/roundtrip_test.cpp). Printing never verifies: a broken graph
// still prints, with `%?` standing for an operand that is not a value of the graph.
#pragma once

#include <string>
#include <unordered_map>

#include "ir/graph.h"

namespace kiln::ir {

// "f32[32,128]"; "f32[]" for rank 0.
std::string print_type(const Type& type);

// The whole graph as a function, ending with a newline.
std::string print_graph(const Graph& graph);

// The printed name ("%x", "%0") of every parameter and body node of `graph`. Parameters
// keep their node name when it is an identifier (otherwise it is made into one, or argN
// when empty; duplicates get a suffix); body nodes are numbered in body order.
using ValueNames = std::unordered_map<const Node*, std::string>;
ValueNames value_names(const Graph& graph);

// One body line without indentation or newline: "%1 = add %x, %0 : f32[32,128]".
std::string print_node(const Node& node, const ValueNames& names);

// A constant's literal as printed after the op: "dense<[[1, 2], [3, 4]]>". Elements are
// nested by shape; a constant of more than one element whose elements are all equal
// prints as a splat, "dense<0.0>".
std::string print_dense(const Buffer& buffer);

// One attribute value as it prints inside `{...}`.
std::string print_attr(const AttrValue& value);

// Exact, shortest round-trip spellings of floats as the IR prints them: "1.0", "2.5e-08",
// "inf", "-inf", "nan"; a NaN other than the default quiet one prints as its bit pattern
// ("0x7fc00001") so that it survives the round trip.
std::string print_f64(double value);
std::string print_f32(float value);
std::string print_f16_bits(uint16_t bits);
std::string print_bf16_bits(uint16_t bits);

}  // namespace kiln::ir
