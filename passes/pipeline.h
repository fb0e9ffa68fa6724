// The graph-level pipeline: the one place that says which passes run and in what order
// (pipeline.cpp), and the registry of passes by name for drivers (`--passes=a,b`).
// Tests: tests/ir/pipeline/*.kir and tests/passes/pipeline_test.cpp.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "passes/pass_manager.h"

namespace kiln::passes {

// The default graph passes, in order, repeated until a round changes nothing.
PassManager default_pipeline(PassOptions options = PassOptions::from_env());

// Runs the default pipeline over `graph`: what the compilers call before scheduling.
PassReport optimize_graph(ir::Graph& graph, PassOptions options = PassOptions::from_env());

// Every graph pass that can be named, in the default pipeline's order.
std::span<const Pass> registered_passes();

// The pass called `name`; throws kiln::Error listing the known names when there is none.
const Pass& find_pass(std::string_view name);

// The passes of a comma-separated list ("canonicalize,cse,dce"), in its order; the name
// "default" stands for the whole default list. Throws kiln::Error on an unknown or empty
// name.
std::vector<Pass> parse_pass_list(std::string_view list);

// A pass manager running `passes` once each, in order, as `--passes=` asks.
PassManager pipeline_of(std::vector<Pass> passes, PassOptions options = PassOptions::from_env());

}  // namespace kiln::passes
