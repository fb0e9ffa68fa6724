// The pass manager: runs graph passes in order with the checks and instrumentation that
// every pipeline needs (STYLE.md habits 2 and 3):
//  - ir::verify at entry and at exit always, and after every pass when verify_each is set
//    (the default when NDEBUG is unset; tests set it), so a broken graph is blamed on the
//    pass that broke it;
//  - the IR printed after a pass when asked: KILN_PRINT_IR_AFTER=all, =change (only
//    passes that changed the graph), or =name[,name...];
//  - every pass timed, with the statistics it counted (passes/statistic.h), in a
//    PassReport that is also logged at debug level (KILN_LOG=debug).
// The default pipeline and the registry of passes by name are in passes/pipeline.h.
// Tests: tests/passes/pass_manager_test.cpp.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "passes/statistic.h"

namespace kiln::passes {

// A graph pass: rewrites the graph in place and says whether it changed it.
struct Pass {
  std::string name;
  std::function<bool(ir::Graph&)> run;
};

// After which passes the IR is printed.
struct PrintIrAfter {
  enum class Mode { None, All, Change, Named };
  Mode mode = Mode::None;
  std::vector<std::string> names;  // Named

  // KILN_PRINT_IR_AFTER's syntax: "" (none), "all", "change", or "name[,name...]".
  static PrintIrAfter parse(std::string_view text);
  bool wants(std::string_view pass, bool changed) const;
};

#ifdef NDEBUG
inline constexpr bool kVerifyEachByDefault = false;
#else
inline constexpr bool kVerifyEachByDefault = true;
#endif

struct PassOptions {
  bool verify_each = kVerifyEachByDefault;
  PrintIrAfter print_ir_after;
  std::ostream* ir_stream = nullptr;  // where printed IR goes; nullptr: standard error
  // The pass list runs again while a round changed the graph, at most this many rounds.
  int max_rounds = 1;

  // The defaults, with KILN_PRINT_IR_AFTER and KILN_VERIFY_EACH (0 or 1) applied.
  static PassOptions from_env();
};

// One run of one pass.
struct PassRun {
  std::string name;
  int round = 1;
  double ms = 0;
  bool changed = false;
  std::vector<StatisticCount> statistics;
};

struct PassReport {
  std::vector<PassRun> runs;
  int rounds = 0;
  bool changed = false;
  double total_ms = 0;  // the passes' time, without verification and printing

  // A table, one line per run: pass, round, ms, changed, statistics.
  std::string str() const;
};

class PassManager {
 public:
  explicit PassManager(PassOptions options = PassOptions::from_env());

  PassManager& add(Pass pass);
  const std::vector<Pass>& passes() const { return passes_; }
  const PassOptions& options() const { return options_; }

  // Runs the passes over `graph`. Throws VerifyError naming the pass after which the
  // graph stopped verifying (or saying that the input did not).
  PassReport run(ir::Graph& graph) const;

 private:
  PassOptions options_;
  std::vector<Pass> passes_;
};

}  // namespace kiln::passes
