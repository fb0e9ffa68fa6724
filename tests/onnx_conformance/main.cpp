// kiln_onnx_conformance: runs ONNX's backend test cases (Debian's libonnx-testdata: a folder
// per case with model.onnx and test_data_set_*/{input,output}_*.pb) on kiln's devices and
// compares each output with the case's expected one (rtol 1e-3, atol 1e-7, as ONNX's
// backend test runner by default; NaN equals NaN). It prints one line per case and device,
// and can write the report (docs/onnx.md, scripts/onnx_report.sh) and check the cases that
// passed before still pass (--expect, the CI test).
//
// A case passes on a device when the model imports, runs and every output matches; it is
// "unsupported" when import or compilation throws UnsupportedError (the reason is listed);
// anything else is a failure. A case passes overall when it passes on every device run.
#include <kiln/kiln.h>
#include <kiln/onnx.h>
#include <onnx/onnx_pb.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "frontend/files.h"

namespace fs = std::filesystem;

namespace {

enum class Outcome { Pass, Fail, Unsupported };

struct Result {
  Outcome outcome = Outcome::Pass;
  std::string reason;
};

struct Case {
  std::string name;
  fs::path dir;
  std::string op;                         // the op type the case tests (for the report)
  std::set<std::string> ops;              // every op type its model uses
  std::map<std::string, Result> results;  // by device
};

constexpr double kRtol = 1e-3, kAtol = 1e-7;

// The op type a case tests: the one of its model's op types whose name (lower case, without
// '_') starts the case's name after "test_"; else its first node's.
std::string op_of(const std::string& case_name, const onnx::GraphProto& g) {
  std::string flat;
  for (char c : case_name.substr(5))
    if (c != '_') flat += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string best;
  for (const auto& n : g.node()) {
    std::string lower;
    for (char c : n.op_type())
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (flat.rfind(lower, 0) == 0 && lower.size() > best.size()) best = n.op_type();
  }
  if (!best.empty()) return best;
  return g.node_size() ? g.node(0).op_type() : "(none)";
}

std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    out.push_back(p);
  }
  return out;
}

// The values of a tensor as doubles (complex: real and imaginary parts interleaved).
std::vector<double> values_of(const kiln::Tensor& t) {
  kiln::DeviceGuard guard(kiln::runtime::make_device("reference"));
  if (kiln::is_complex(t.dtype())) {
    std::vector<double> out;
    for (auto c : t.to_vector<kiln::complex64>()) {
      out.push_back(c.real());
      out.push_back(c.imag());
    }
    return out;
  }
  return kiln::cast(t, kiln::DType::F64).to_vector<double>();
}

// "" when `got` matches `want`, else what differs.
std::string compare(const kiln::Tensor& got, const kiln::Tensor& want) {
  if (got.dtype() != want.dtype())
    return "dtype " + std::string(kiln::dtype_name(got.dtype())) + ", expected " +
           std::string(kiln::dtype_name(want.dtype()));
  if (got.shape() != want.shape())
    return "shape " + kiln::shape_str(got.shape()) + ", expected " + kiln::shape_str(want.shape());
  std::vector<double> g = values_of(got), w = values_of(want);
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    bool same = (std::isnan(g[i]) && std::isnan(w[i])) || g[i] == w[i] ||
                std::abs(g[i] - w[i]) <= kAtol + kRtol * std::abs(w[i]);
    if (!same && bad++ == 0) first = i;
  }
  if (!bad) return "";
  std::ostringstream os;
  os << bad << " of " << g.size() << " values differ; first at " << first << ": " << g[first]
     << ", expected " << w[first];
  return os.str();
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (s.size() > 300) s = s.substr(0, 297) + "...";
  return s;
}

// Runs one case on every device.
void run_case(Case& c, const std::vector<std::shared_ptr<kiln::runtime::Device>>& devices,
              const std::vector<std::string>& names) {
  auto all = [&](Outcome o, std::string why) {
    std::string path = (c.dir / "model.onnx").string() + ": ";
    if (auto at = why.find(path); at != std::string::npos) why.erase(at, path.size());
    for (const auto& d : names) c.results[d] = {o, one_line(why)};
  };
  onnx::ModelProto proto;
  {
    std::string bytes = kiln::frontend::read_file((c.dir / "model.onnx").string());
    if (!proto.ParseFromString(bytes)) return all(Outcome::Fail, "model.onnx does not parse");
  }
  c.op = op_of(c.name, proto.graph());
  for (const auto& n : proto.graph().node()) c.ops.insert(n.op_type());
  for (const auto* list : {&proto.graph().input(), &proto.graph().output()})
    for (const auto& v : *list)
      if (!v.type().has_tensor_type())
        return all(Outcome::Unsupported, "'" + v.name() +
                                             "' is not a tensor: sequences, maps and optional "
                                             "values are not supported");

  fs::path data = c.dir / "test_data_set_0";
  std::vector<kiln::Tensor> inputs, expected;
  std::map<std::string, kiln::Tensor> by_name;
  std::optional<kiln::onnx::Model> model;
  try {
    for (const auto& p : numbered_files(data, "input_"))
      inputs.push_back(kiln::onnx::read_tensor(p.string()));
    for (const auto& p : numbered_files(data, "output_"))
      expected.push_back(kiln::onnx::read_tensor(p.string()));
    // The model's own inputs, in order, less the initializers: the case's input_i.pb files.
    // Their values are offered to the import: an input an op needs at import (a Reshape's
    // shape) becomes a constant; the others stay inputs.
    std::set<std::string> inits;
    for (const auto& t : proto.graph().initializer()) inits.insert(t.name());
    kiln::onnx::LoadOptions options;
    size_t k = 0;
    for (const auto& in : proto.graph().input())
      if (!inits.count(in.name()) && k < inputs.size()) {
        options.input_shapes[in.name()] = inputs[k].shape();
        options.input_values.insert_or_assign(in.name(), inputs[k]);
        by_name.insert_or_assign(in.name(), inputs[k++]);
      }
    model = kiln::onnx::load((c.dir / "model.onnx").string(), options);
  } catch (const kiln::UnsupportedError& e) {
    return all(Outcome::Unsupported, e.what());
  } catch (const std::exception& e) {
    return all(Outcome::Fail, std::string("import: ") + e.what());
  }
  std::vector<kiln::Tensor> args;
  for (const std::string& name : model->input_names()) {
    auto it = by_name.find(name);
    if (it == by_name.end()) return all(Outcome::Fail, "the case gives no input '" + name + "'");
    args.push_back(it->second);
  }
  for (size_t di = 0; di < devices.size(); ++di) {
    const auto& device = devices[di];
    Result& r = c.results[names[di]];
    try {
      std::vector<kiln::Tensor> outs = (*model)(args);
      if (outs.size() != expected.size()) {
        r = {Outcome::Fail, "the model has " + std::to_string(outs.size()) +
                                " outputs, the case expects " + std::to_string(expected.size())};
        continue;
      }
      kiln::eval(device, outs);
      for (size_t i = 0; i < outs.size(); ++i) {
        std::string diff = compare(outs[i], expected[i]);
        if (!diff.empty()) {
          r = {Outcome::Fail, "output " + std::to_string(i) + ": " + diff};
          break;
        }
      }
    } catch (const kiln::UnsupportedError& e) {
      r = {Outcome::Unsupported, one_line(e.what())};
    } catch (const std::exception& e) {
      r = {Outcome::Fail, one_line(e.what())};
    }
  }
}

bool passes(const Case& c) {
  return std::all_of(c.results.begin(), c.results.end(),
                     [](const auto& kv) { return kv.second.outcome == Outcome::Pass; });
}

const char* word(Outcome o) {
  return o == Outcome::Pass ? "pass" : o == Outcome::Fail ? "FAIL" : "unsupported";
}

void write_report(const std::string& path, const std::vector<Case>& cases,
                  const std::vector<std::string>& device_names,
                  const std::vector<std::string>& full_names, const std::string& data_dir) {
  std::set<std::string> supported;
  for (const auto& op : kiln::onnx::supported_ops()) supported.insert(op);
  std::map<std::string, std::vector<const Case*>> by_op;
  for (const auto& c : cases) by_op[c.op].push_back(&c);

  std::ostringstream os;
  os << "# ONNX conformance\n\n"
     << "Generated by `scripts/onnx_report.sh` (tests/onnx_conformance/main.cpp): ONNX's backend\n"
     << "node test cases from Debian's libonnx-testdata (`" << data_dir << "`), run on";
  for (size_t i = 0; i < device_names.size(); ++i)
    os << (i ? i + 1 == device_names.size() ? " and " : ", " : " ") << device_names[i]
       << (full_names[i] == device_names[i] ? "" : " (" + full_names[i] + ")");
  os << ".\nEach output is compared with the case's expected output (rtol 1e-3, atol 1e-7). A\n"
     << "case passes when it passes on every device; *unsupported* means import or compilation\n"
     << "raised UnsupportedError, with the reason listed below.\n\n";

  size_t total_pass = 0, implemented = 0, implemented_pass = 0;
  for (const auto& c : cases) {
    bool ok = passes(c);
    total_pass += ok;
    bool impl = std::all_of(c.ops.begin(), c.ops.end(),
                            [&](const std::string& op) { return supported.count(op) > 0; });
    implemented += impl;
    implemented_pass += impl && ok;
  }
  auto pct = [](size_t a, size_t b) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(1);
    s << (b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0) << "%";
    return s.str();
  };
  os << "## Summary\n\n"
     << "- Cases: " << cases.size() << "; passing on every device: " << total_pass << " ("
     << pct(total_pass, cases.size()) << ").\n"
     << "- Cases whose ops kiln implements: " << implemented << "; passing: " << implemented_pass
     << " (" << pct(implemented_pass, implemented) << ").\n\n";

  os << "## Per op\n\n| op | cases |";
  for (const auto& d : device_names) os << " " << d << " pass / fail / unsup. |";
  os << "\n|---|---|";
  for (size_t i = 0; i < device_names.size(); ++i) os << "---|";
  os << "\n";
  for (const auto& [op, list] : by_op) {
    os << "| " << op << " | " << list.size() << " |";
    for (const auto& d : device_names) {
      size_t n[3] = {0, 0, 0};
      for (const Case* c : list) n[static_cast<int>(c->results.at(d).outcome)]++;
      os << " " << n[0] << " / " << n[1] << " / " << n[2] << " |";
    }
    os << "\n";
  }
  os << "\n## Cases that do not pass\n\n";
  for (const auto& c : cases) {
    if (passes(c)) continue;
    os << "- `" << c.name << "`:";
    std::map<std::string, std::vector<std::string>> reasons;  // reason -> devices
    for (const auto& d : device_names) {
      const Result& r = c.results.at(d);
      if (r.outcome != Outcome::Pass)
        reasons[std::string(word(r.outcome)) + ": " + r.reason].push_back(d);
    }
    for (const auto& [why, ds] : reasons) {
      os << " (";
      for (size_t i = 0; i < ds.size(); ++i) os << (i ? ", " : "") << ds[i];
      std::string text = why;
      std::replace(text.begin(), text.end(), '|', '/');
      os << ") " << text << ";";
    }
    os << "\n";
  }
  os << "\ntotal: " << total_pass << " passed of " << cases.size() << " cases\n";
  kiln::frontend::write_file_atomic(path, os.str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs ONNX's backend node test cases on kiln's devices"};
  std::string data_dir = "/usr/share/libonnx-testdata/data/node";
  std::string filter, report, expect, write_expect;
  std::string devices_spec = "reference,cpu,opencl";
  bool verbose = false;
  std::string shard, skip;
  app.add_option("--data", data_dir, "folder of cases (each with model.onnx)");
  app.add_option("--filter", filter, "run only cases whose name matches this regex");
  app.add_option("--devices", devices_spec,
                 "devices to run on, comma-separated (missing ones are left out)");
  app.add_option("--report", report, "write the markdown report here");
  app.add_option("--expect", expect, "fail if a case listed in this file does not pass");
  app.add_option("--write-expect", write_expect, "write the cases that pass to this file");
  app.add_flag("-v,--verbose", verbose, "print every case, not only those that do not pass");
  app.add_option("--shard", shard, "I/N: run only every N-th case from the I-th (0-based)");
  app.add_option("--skip", skip, "leave out cases whose name matches this regex");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::shared_ptr<kiln::runtime::Device>> devices;
  std::vector<std::string> device_names, full_names;  // specs, and what each device is
  std::stringstream ss(devices_spec);
  for (std::string spec; std::getline(ss, spec, ',');) {
    try {
      devices.push_back(kiln::runtime::make_device(spec));
      device_names.push_back(spec);
      full_names.push_back(devices.back()->name());
    } catch (const std::exception& e) {
      bool required = spec == "opencl" && std::getenv("KILN_REQUIRE_OPENCL") &&
                      std::string(std::getenv("KILN_REQUIRE_OPENCL")) == "1";
      std::cerr << (required ? "error" : "note") << ": no " << spec << " device (" << e.what()
                << ")\n";
      if (required) return 1;
    }
  }
  if (!fs::is_directory(data_dir)) {
    std::cerr << "error: no test cases at " << data_dir << " (Debian: libonnx-testdata)\n";
    return 1;
  }
  std::vector<Case> cases;
  std::regex re(filter.empty() ? ".*" : filter);
  std::optional<std::regex> skipped;
  if (!skip.empty()) skipped.emplace(skip);
  for (const auto& entry : fs::directory_iterator(data_dir)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx") &&
        std::regex_search(name, re) && !(skipped && std::regex_search(name, *skipped)))
      cases.push_back({name, entry.path(), "", {}, {}});
  }
  std::sort(cases.begin(), cases.end(),
            [](const Case& a, const Case& b) { return a.name < b.name; });
  if (!shard.empty()) {
    size_t slash = shard.find('/'), index = 0, count = 0;
    try {
      index = std::stoul(shard.substr(0, slash));
      count = std::stoul(shard.substr(slash + 1));
    } catch (const std::exception&) {
    }
    if (slash == std::string::npos || count == 0 || index >= count) {
      std::cerr << "error: --shard " << shard << ": expected I/N with 0 <= I < N\n";
      return 2;
    }
    std::vector<Case> mine;
    for (size_t i = index; i < cases.size(); i += count) mine.push_back(std::move(cases[i]));
    cases = std::move(mine);
  }

  auto start = std::chrono::steady_clock::now();
  size_t passed = 0;
  for (Case& c : cases) {
    run_case(c, devices, device_names);
    bool ok = passes(c);
    passed += ok;
    if (verbose || !ok) {
      // One line per distinct outcome, with the devices that had it.
      std::map<std::string, std::string> lines;
      for (const auto& d : device_names) {
        const Result& r = c.results[d];
        std::string& who =
            lines[std::string(word(r.outcome)) + (r.reason.empty() ? "" : ": " + r.reason)];
        who += (who.empty() ? "" : ", ") + d;
      }
      std::cout << (ok ? "pass " : "     ") << c.name << "\n";
      for (const auto& [what, who] : lines) std::cout << "    " << who << ": " << what << "\n";
    }
  }
  // An "_expanded" case runs the function body of its sibling's op: report it under that op.
  std::map<std::string, std::string> op_by_name;
  for (const Case& c : cases) op_by_name[c.name] = c.op;
  for (Case& c : cases)
    if (c.name.ends_with("_expanded")) {
      auto it = op_by_name.find(c.name.substr(0, c.name.size() - 9));
      if (it != op_by_name.end()) c.op = it->second;
    }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "total: " << passed << " passed of " << cases.size() << " cases (" << seconds
            << " s)\n";

  if (!report.empty()) write_report(report, cases, device_names, full_names, data_dir);
  if (!write_expect.empty()) {
    std::ostringstream os;
    os << "# Cases of kiln_onnx_conformance that pass on every device (tests/CMakeLists.txt).\n";
    for (const auto& c : cases)
      if (passes(c)) os << c.name << "\n";
    kiln::frontend::write_file_atomic(write_expect, os.str());
  }
  if (!expect.empty()) {
    std::map<std::string, const Case*> by_name;
    for (const auto& c : cases) by_name[c.name] = &c;
    std::ifstream in(expect);
    if (!in) {
      std::cerr << "error: cannot read " << expect << "\n";
      return 1;
    }
    int regressions = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      auto it = by_name.find(line);
      if (it == by_name.end() && filter.empty() && shard.empty() && skip.empty()) {
        std::cerr << "regression: " << line << " is not among the cases\n";
        ++regressions;
      } else if (it != by_name.end() && !passes(*it->second)) {
        std::cerr << "regression: " << line << " passed before and does not pass now\n";
        ++regressions;
      }
    }
    if (regressions) {
      std::cerr << regressions << " case(s) that passed before do not pass\n";
      return 1;
    }
  }
  return 0;
}
