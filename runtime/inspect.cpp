// schedule_report and dot_graph: the scheduler's fusion groups (passes/schedule.h), lowered
// to kernels (codegen/lower_group.h) with the device's options as the driver lowers them,
// described per kernel in text or as Graphviz clusters.
#include "runtime/inspect.h"

#include <unordered_map>
#include <unordered_set>

#include "codegen/contraction.h"
#include "codegen/lower_group.h"
#include "codegen/spectral.h"
#include "ir/printer.h"
#include "passes/schedule.h"
#include "runtime/device.h"

namespace kiln::inspect {

namespace {

std::string dims_str(const std::vector<int64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "]";
}

std::string_view kind_name(passes::GroupKind k) {
  switch (k) {
    case passes::GroupKind::Pointwise: return "pointwise";
    case passes::GroupKind::Scan: return "scan";
    case passes::GroupKind::Scatter: return "scatter";
  }
  return "?";
}

std::string stage_str(const codegen::Stage& s) {
  switch (s.kind) {
    case codegen::StageKind::Reduce: return "reduce " + std::string(codegen::reduce_op_name(s.op));
    case codegen::StageKind::Scan: return "scan " + std::string(codegen::reduce_op_name(s.op));
    case codegen::StageKind::Loop: return s.sequential ? "loop (sequential)" : "loop";
  }
  return "?";
}

// Where the frontend built a node, when it knows: " (file:line)".
std::string loc_str(const ir::Node& n) {
  if (n.loc.line() == 0 || !n.loc.file_name() || !*n.loc.file_name()) return "";
  std::string file = n.loc.file_name();
  size_t slash = file.find_last_of('/');
  if (slash != std::string::npos) file = file.substr(slash + 1);
  return " (" + file + ":" + std::to_string(n.loc.line()) + ")";
}

// A value's printed name ("%x", "%3"), or its op for values outside the graph.
std::string name_in(const ir::ValueNames& names, const ir::Node* n) {
  auto it = names.find(n);
  return it == names.end() ? "%?" : it->second;
}

}  // namespace

std::string schedule_report(const ir::Graph& graph) {
  return schedule_report(graph, *runtime::default_device());
}

namespace {

// A kernel that runs as a library GEMM: its sizes and what its epilogue does.
std::string gemm_str(const codegen::Contraction& c) {
  std::string out = "  gemm: " + std::to_string(c.m.size()) + " x " + std::to_string(c.n.size()) +
                    " x " + std::to_string(c.k.size());
  if (!c.batch.vars.empty()) out += ", batch " + std::to_string(c.batch.size());
  return out + " (M x N x K), " + std::string(dtype_name(c.acc)) +
         " accumulation; operand prologues and the epilogue fused";
}

// A kernel that runs as a library FFT: the transform, its rows, and what fused into it.
std::string fft_str(const codegen::Spectral& s) {
  return "  fft: " + std::string(codegen::spectral_kind_name(s.kind)) + " of " +
         std::to_string(s.n) + " points over " + std::to_string(s.batch.size()) + " rows (" +
         std::to_string(s.in_len) + " in, " + std::to_string(s.out_len) +
         " out per row); the input's prologue read by the first pass, the epilogue applied by the "
         "last";
}

}  // namespace

std::string schedule_report(const ir::Graph& graph, const runtime::Device& device) {
  const codegen::LowerOptions options = device.lower_options();
  passes::Schedule s = passes::schedule(graph);
  ir::ValueNames names = ir::value_names(graph);
  std::unordered_map<const ir::Node*, std::string> reason;
  for (const passes::Boundary& b : s.boundaries) reason[b.node] = b.reason;

  std::string out;
  int kernel = 0;
  for (size_t gi = 0; gi < s.groups.size(); ++gi) {
    const passes::FusionGroup& g = s.groups[gi];
    codegen::LoweredGroup lowered = codegen::lower_group(g, options);
    std::string space = std::string(kind_name(g.kind)) + " over " + dims_str(g.shape);
    if (!g.axes.empty()) space += ", rows " + dims_str(g.axes);
    std::string ops = "  ops:";
    for (size_t i = 0; i < g.nodes.size(); ++i)
      ops += std::string(i ? ", " : " ") + name_in(names, g.nodes[i]) + " = " +
             std::string(g.nodes[i]->info().text) + loc_str(*g.nodes[i]);
    std::string reads = "  reads:";
    if (g.inputs.empty()) reads += " nothing";
    for (size_t i = 0; i < g.inputs.size(); ++i)
      reads += std::string(i ? ", " : " ") + name_in(names, g.inputs[i]);
    std::string stores;
    for (const ir::Node* o : g.outputs)
      stores += "  stores: " + name_in(names, o) + " (" + reason[o] + ")\n";
    if (lowered.kernels.empty()) {
      out += "group " + std::to_string(gi) + ": " + space + ": no kernel (nothing to compute)\n";
      continue;
    }
    size_t parts = lowered.kernels.size();
    for (size_t part = 0; part < parts; ++part) {
      out += "kernel " + std::to_string(kernel++) + ": " + space + " (group " + std::to_string(gi);
      if (parts > 1) out += ", part " + std::to_string(part + 1) + " of " + std::to_string(parts);
      out += ")\n";
      const codegen::Kernel& k = lowered.kernels[part].kernel;
      out += "  stages:";
      for (size_t i = 0; i < k.stages.size(); ++i) out += (i ? ", " : " ") + stage_str(k.stages[i]);
      if (k.contraction) out += "\n" + gemm_str(*k.contraction);
      if (k.spectral) out += "\n" + fft_str(*k.spectral);
      out += "\n" + ops + "\n" + reads + "\n" + stores;
    }
  }
  out += "kernels: " + std::to_string(kernel) + "\n";
  return out;
}

namespace {

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string dot_graph(const ir::Graph& graph) {
  return dot_graph(graph, *runtime::default_device());
}

std::string dot_graph(const ir::Graph& graph, const runtime::Device& device) {
  const codegen::LowerOptions options = device.lower_options();
  passes::Schedule s = passes::schedule(graph);
  ir::ValueNames names = ir::value_names(graph);
  std::unordered_map<const ir::Node*, int> index;
  int next = 0;
  for (const auto& p : graph.params) index[p.get()] = next++;
  for (const auto& n : graph.nodes) index[n.get()] = next++;
  auto label = [&](const ir::Node* n) {
    return dot_escape(name_in(names, n) + " " + std::string(n->info().text)) + "\\n" +
           dot_escape(n->type.str());
  };
  // A value computed in kernel k is drawn as n<index>_k<k>; stored values are read by other
  // kernels from the group that stores them.
  std::unordered_map<const ir::Node*, std::string> home;
  for (size_t k = 0; k < s.groups.size(); ++k)
    for (const ir::Node* o : s.groups[k].outputs)
      home[o] = "n" + std::to_string(index[o]) + "_k" + std::to_string(k);

  std::string out = "digraph \"" + dot_escape(graph.name) + "\" {\n";
  out += "  rankdir=TB;\n  node [shape=ellipse, fontname=\"monospace\", fontsize=10];\n";
  std::unordered_set<const ir::Node*> in_kernels;
  for (const auto& g : s.groups)
    for (const ir::Node* n : g.nodes) in_kernels.insert(n);
  // Values outside every kernel: parameters, constants, and anything no kernel computes.
  for (const auto& p : graph.params) {
    std::string id = "n" + std::to_string(index[p.get()]);
    home[p.get()] = id;
    out += "  " + id + " [shape=box, style=filled, fillcolor=lightblue, label=\"" + label(p.get()) +
           "\"];\n";
  }
  for (const auto& n : graph.nodes) {
    if (in_kernels.count(n.get()) || home.count(n.get())) continue;
    std::string id = "n" + std::to_string(index[n.get()]);
    home[n.get()] = id;
    out += "  " + id + " [shape=box, style=filled, fillcolor=lightgrey, label=\"" + label(n.get()) +
           "\"];\n";
  }
  std::string edges;
  int first_kernel = 0;
  for (size_t k = 0; k < s.groups.size(); ++k) {
    const passes::FusionGroup& g = s.groups[k];
    std::string suffix = "_k" + std::to_string(k);
    std::unordered_set<const ir::Node*> members(g.nodes.begin(), g.nodes.end());
    std::unordered_set<const ir::Node*> stored(g.outputs.begin(), g.outputs.end());
    out += "  subgraph cluster_" + std::to_string(k) + " {\n";
    int kernels = static_cast<int>(codegen::lower_group(g, options).kernels.size());
    std::string title = kernels == 1   ? "kernel " + std::to_string(first_kernel)
                        : kernels == 0 ? std::string("no kernel")
                                       : "kernels " + std::to_string(first_kernel) + "-" +
                                             std::to_string(first_kernel + kernels - 1);
    first_kernel += kernels;
    out += "    label=\"" + title + ": " + std::string(kind_name(g.kind)) + " " +
           dims_str(g.shape) + "\";\n    style=rounded; color=darkgreen;\n";
    for (const ir::Node* n : g.nodes) {
      std::string id = "n" + std::to_string(index[n]) + suffix;
      out += "    " + id + " [label=\"" + label(n) + "\"" +
             (stored.count(n) ? ", style=bold, color=darkgreen" : "") + "];\n";
      for (const auto& o : n->operands) {
        std::string from = members.count(o.get())
                               ? "n" + std::to_string(index[o.get()]) + suffix
                               : (home.count(o.get()) ? home[o.get()] : std::string());
        if (!from.empty()) edges += "  " + from + " -> " + id + ";\n";
      }
    }
    out += "  }\n";
  }
  for (const auto& n : graph.nodes) {  // operands of values outside kernels
    if (in_kernels.count(n.get())) continue;
    for (const auto& o : n->operands)
      if (home.count(o.get())) edges += "  " + home[o.get()] + " -> " + home[n.get()] + ";\n";
  }
  out += edges;
  for (size_t i = 0; i < graph.results.size(); ++i) {
    const ir::Node* r = graph.results[i].get();
    std::string id = "result" + std::to_string(i);
    out += "  " + id + " [shape=plaintext, label=\"result " + std::to_string(i) + "\"];\n";
    if (home.count(r)) out += "  " + home[r] + " -> " + id + ";\n";
  }
  out += "}\n";
  return out;
}

}  // namespace kiln::inspect
