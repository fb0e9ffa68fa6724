// build_program: schedule, lower every group, number the buffers, plan their memory.
#include "codegen/program.h"

#include <algorithm>
#include <map>

#include "ir/error.h"
#include "support/log.h"

namespace kiln::codegen {

Program build_program(const ir::Graph& graph, const LowerOptions& lower,
                      const passes::ScheduleOptions& sopt) {
  Program p;
  passes::ScheduleOptions options = sopt;
  options.max_operand_prologue_ops =
      std::min(options.max_operand_prologue_ops, lower.max_operand_prologue_ops);
  p.schedule = passes::schedule(graph, options);
  if (support::log_enabled(support::LogLevel::Debug))
    support::log_debug("schedule of " + graph.name + ":\n" +
                       passes::print_schedule(graph, p.schedule));

  std::map<const ir::Node*, int> value_of;
  std::map<const ir::Node*, int> param_index;
  for (size_t i = 0; i < graph.params.size(); ++i)
    param_index[graph.params[i].get()] = static_cast<int>(i);
  std::map<const ir::Node*, bool> is_result;
  for (const auto& r : graph.results) is_result[r.get()] = true;

  auto node_value = [&](const ir::Node* n) -> int {
    auto it = value_of.find(n);
    if (it != value_of.end()) return it->second;
    ProgramValue v;
    v.dtype = n->type.dtype;
    v.numel = n->type.numel();
    v.node = n;
    if (n->op == ir::OpKind::Parameter) {
      auto pi = param_index.find(n);
      if (pi == param_index.end())
        throw CompileError("build_program: a parameter that is not in the graph's list");
      v.kind = ProgramValue::Kind::Parameter;
      v.param = pi->second;
    } else if (n->buffer) {
      v.kind = ProgramValue::Kind::Constant;
    } else if (is_result.count(n)) {
      v.kind = ProgramValue::Kind::Result;
    } else {
      v.kind = ProgramValue::Kind::Intermediate;
    }
    int id = static_cast<int>(p.values.size());
    p.values.push_back(v);
    value_of[n] = id;
    return id;
  };

  std::map<uint64_t, int> kernel_of_hash;
  std::vector<passes::BufferUse> steps;
  for (const passes::FusionGroup& g : p.schedule.groups) {
    LoweredGroup lg = lower_group(g, lower);
    std::vector<int> temp_value;
    for (const TempBuffer& t : lg.temps) {
      ProgramValue v;
      v.kind = ProgramValue::Kind::Temp;
      v.dtype = t.dtype;
      v.numel = t.numel;
      temp_value.push_back(static_cast<int>(p.values.size()));
      p.values.push_back(v);
    }
    for (LoweredKernel& lk : lg.kernels) {
      Launch launch;
      passes::BufferUse use;
      for (size_t i = 0; i < lk.buffers.size(); ++i) {
        const BufferSource& src = lk.buffers[i];
        int id = src.node ? node_value(src.node) : temp_value.at(src.temp);
        launch.buffers.push_back(id);
        if (lk.kernel.buffers[i].read) use.reads.push_back(id);
        if (lk.kernel.buffers[i].written) use.writes.push_back(id);
      }
      launch.scalars = lk.scalars;
      uint64_t h = kernel_hash(lk.kernel);
      auto it = kernel_of_hash.find(h);
      if (it == kernel_of_hash.end()) {
        it = kernel_of_hash.emplace(h, static_cast<int>(p.kernels.size())).first;
        p.kernels.push_back(std::move(lk.kernel));
        p.kernel_hashes.push_back(h);
      }
      launch.kernel = it->second;
      p.launches.push_back(std::move(launch));
      steps.push_back(std::move(use));
    }
  }
  for (const auto& r : graph.results) p.results.push_back(node_value(r.get()));

  std::vector<int64_t> bytes;
  std::vector<bool> pinned;
  for (const ProgramValue& v : p.values) {
    bytes.push_back(v.nbytes());
    pinned.push_back(v.kind != ProgramValue::Kind::Intermediate &&
                     v.kind != ProgramValue::Kind::Temp);
  }
  p.memory = passes::plan_memory(bytes, pinned, steps);
  for (size_t i = 0; i < p.values.size(); ++i) p.values[i].slot = p.memory.slot_of[i];
  return p;
}

}  // namespace kiln::codegen
