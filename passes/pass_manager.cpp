// The pass manager's loop: verify, run, time, count, print (see pass_manager.h).
#include "passes/pass_manager.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "support/log.h"

namespace kiln::passes {

PrintIrAfter PrintIrAfter::parse(std::string_view text) {
  PrintIrAfter p;
  if (text.empty()) return p;
  if (text == "all") {
    p.mode = Mode::All;
    return p;
  }
  if (text == "change") {
    p.mode = Mode::Change;
    return p;
  }
  p.mode = Mode::Named;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view name = text.substr(0, comma);
    if (!name.empty()) p.names.emplace_back(name);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return p;
}

bool PrintIrAfter::wants(std::string_view pass, bool changed) const {
  switch (mode) {
    case Mode::None: return false;
    case Mode::All: return true;
    case Mode::Change: return changed;
    case Mode::Named:
      for (const std::string& n : names)
        if (n == pass) return true;
      return false;
  }
  return false;
}

PassOptions PassOptions::from_env() {
  PassOptions o;
  if (const char* v = std::getenv("KILN_PRINT_IR_AFTER")) o.print_ir_after = PrintIrAfter::parse(v);
  if (const char* v = std::getenv("KILN_VERIFY_EACH")) {
    std::string_view s(v);
    if (s == "1")
      o.verify_each = true;
    else if (s == "0")
      o.verify_each = false;
    else if (!s.empty())
      support::log_warn("KILN_VERIFY_EACH='" + std::string(s) +
                        "' is neither 0 nor 1; keeping the default");
  }
  return o;
}

std::string PassReport::str() const {
  std::string out = "pass                 round        ms  changed  statistics\n";
  char line[128];
  for (const PassRun& r : runs) {
    std::snprintf(line, sizeof line, "%-20s %5d %9.3f  %-7s  ", r.name.c_str(), r.round, r.ms,
                  r.changed ? "yes" : "no");
    out += line;
    for (size_t i = 0; i < r.statistics.size(); ++i)
      out += (i ? ", " : "") + std::to_string(r.statistics[i].count) + " " +
             r.statistics[i].description;
    out.erase(out.find_last_not_of(' ') + 1);
    out += "\n";
  }
  std::snprintf(line, sizeof line, "total %.3f ms in %d round(s), %s\n", total_ms, rounds,
                changed ? "changed" : "unchanged");
  return out + line;
}

PassManager::PassManager(PassOptions options) : options_(std::move(options)) {}

PassManager& PassManager::add(Pass pass) {
  passes_.push_back(std::move(pass));
  return *this;
}

namespace {

// Runs the verifier, putting `when` in front of its message.
void verify(const ir::Graph& graph, const std::string& when, const std::string& hint) {
  try {
    ir::verify(graph);
  } catch (const VerifyError& e) {
    throw VerifyError(when + ": " + e.what() + hint);
  }
}

}  // namespace

PassReport PassManager::run(ir::Graph& graph) const {
  using Clock = std::chrono::steady_clock;
  PassReport report;
  verify(graph, "the pass pipeline's input does not verify", "");
  std::ostream& ir_out = options_.ir_stream ? *options_.ir_stream : std::cerr;

  for (int round = 1; round <= std::max(options_.max_rounds, 1); ++round) {
    report.rounds = round;
    bool round_changed = false;
    for (const Pass& pass : passes_) {
      PassRun run{pass.name, round, 0, false, {}};
      {
        StatisticScope scope;
        auto start = Clock::now();
        run.changed = pass.run(graph);
        run.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        run.statistics = scope.counts();
      }
      report.total_ms += run.ms;
      round_changed |= run.changed;
      if (options_.print_ir_after.wants(pass.name, run.changed))
        ir_out << "// IR after " << pass.name << " (round " << round << ", "
               << (run.changed ? "changed" : "unchanged") << ")\n"
               << ir::print_graph(graph) << std::flush;
      if (options_.verify_each)
        verify(graph, "after pass '" + pass.name + "'",
               " (KILN_PRINT_IR_AFTER=" + pass.name + " shows the IR it produced)");
      report.runs.push_back(std::move(run));
    }
    report.changed |= round_changed;
    if (!round_changed) break;
  }

  verify(graph, "the pass pipeline's output does not verify",
         " (set KILN_VERIFY_EACH=1 to find the pass that broke it)");
  if (support::log_enabled(support::LogLevel::Debug))
    support::log_debug("passes on @" + graph.name + ":\n" + report.str());
  return report;
}

}  // namespace kiln::passes
