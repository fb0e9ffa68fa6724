// The graph pipeline and the pass registry.
#include "passes/pipeline.h"

#include <string>

#include "ir/error.h"
#include "passes/canonicalize.h"
#include "passes/cse.h"
#include "passes/dce.h"
#include "passes/fold_constants.h"
#include "passes/fold_views.h"
#include "passes/simplify_algebra.h"

namespace kiln::passes {

namespace {
// Each round can expose work for the next (a fold makes two nodes equal for cse, cse
// makes x - y into x - x for simplify_algebra); in practice two or three rounds reach the
// fixed point, and the bound keeps a pathological graph from looping.
constexpr int kMaxRounds = 4;
}  // namespace

// The pipeline, in order. canonicalize first, so the later passes see constants as
// second operands and no no-op views; dce last, to drop what the others left unused.
PassManager default_pipeline(PassOptions options) {
  options.max_rounds = kMaxRounds;
  PassManager pm(std::move(options));
  pm.add({"canonicalize", canonicalize});
  pm.add({"fold_constants", fold_constants});
  pm.add({"simplify_algebra", simplify_algebra});
  pm.add({"fold_views", fold_views});
  pm.add({"cse", cse});
  pm.add({"dce", dce});
  return pm;
}

PassReport optimize_graph(ir::Graph& graph, PassOptions options) {
  return default_pipeline(std::move(options)).run(graph);
}

std::span<const Pass> registered_passes() {
  static const std::vector<Pass> passes = default_pipeline(PassOptions{}).passes();
  return passes;
}

const Pass& find_pass(std::string_view name) {
  std::string known;
  for (const Pass& p : registered_passes()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw Error("unknown pass '" + std::string(name) + "'; the passes are: " + known +
              " (or 'default' for all of them in order)");
}

std::vector<Pass> parse_pass_list(std::string_view list) {
  const std::string whole(list);
  std::vector<Pass> out;
  while (true) {
    size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    if (name.empty())
      throw Error("empty pass name in the pass list '" + whole +
                  "'; write names separated by single commas, e.g. canonicalize,cse,dce");
    if (name == "default") {
      auto all = registered_passes();
      out.insert(out.end(), all.begin(), all.end());
    } else {
      out.push_back(find_pass(name));
    }
    if (comma == std::string_view::npos) break;
    list = list.substr(comma + 1);
  }
  return out;
}

PassManager pipeline_of(std::vector<Pass> passes, PassOptions options) {
  PassManager pm(std::move(options));
  for (Pass& p : passes) pm.add(std::move(p));
  return pm;
}

}  // namespace kiln::passes
