// match_and_load (kiln/checkpoint.h): a checkpoint's names matched to a module's (given
// prefixes, one automatic prefix, a rename function), shapes checked, floating-point
// dtypes converted, and a report of what did not match.
#include <algorithm>
#include <set>
#include <sstream>

#include "kiln/checkpoint.h"

namespace kiln {

namespace {

// The dotted prefixes of a name: "a.b.c" -> "a.", "a.b.".
std::vector<std::string> dotted_prefixes(const std::string& name) {
  std::vector<std::string> out;
  for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1))
    out.push_back(name.substr(0, dot + 1));
  return out;
}

// The prefix that, stripped from the checkpoint's names (or added to them), matches the
// most module names beyond those that match already; empty when none helps.
void choose_prefix(const std::vector<std::string>& names, const std::set<std::string>& wanted,
                   std::string& strip, std::string& add) {
  size_t best = 0;
  std::set<std::string> candidates;
  for (const auto& n : names)
    if (!wanted.count(n))
      for (const auto& p : dotted_prefixes(n)) candidates.insert(p);
  for (const auto& p : candidates) {
    size_t gained = 0;
    for (const auto& n : names)
      if (!wanted.count(n) && n.rfind(p, 0) == 0 && wanted.count(n.substr(p.size()))) ++gained;
    if (gained > best) best = gained, strip = p, add.clear();
  }
  candidates.clear();
  for (const auto& w : wanted)
    for (const auto& p : dotted_prefixes(w)) candidates.insert(p);
  for (const auto& p : candidates) {
    size_t gained = 0;
    for (const auto& n : names)
      if (!wanted.count(n) && wanted.count(p + n)) ++gained;
    if (gained > best) best = gained, add = p, strip.clear();
  }
}

}  // namespace

std::string LoadReport::str() const {
  std::ostringstream s;
  s << "loaded " << loaded.size() << " tensor" << (loaded.size() == 1 ? "" : "s");
  if (!prefix_stripped.empty()) s << " (prefix '" << prefix_stripped << "' removed)";
  if (!prefix_added.empty()) s << " (prefix '" << prefix_added << "' added)";
  s << "\n";
  auto section = [&](const char* title, const std::vector<std::string>& names) {
    if (names.empty()) return;
    s << title << " (" << names.size() << "):\n";
    for (const auto& n : names) s << "  " << n << "\n";
  };
  section("missing from the checkpoint", missing);
  section("unexpected in the checkpoint", unexpected);
  if (!wrong_shape.empty()) {
    s << "wrong shape or dtype (" << wrong_shape.size() << "):\n";
    for (const auto& m : wrong_shape)
      s << "  " << m.name << ": the module has " << m.expected.str() << ", the checkpoint "
        << m.found.str() << "\n";
  }
  section("converted", converted);
  return s.str();
}

LoadReport match_and_load(nn::Module& module, const std::map<std::string, Tensor>& checkpoint,
                          const MatchOptions& options) {
  Params own = module.state_dict();
  std::set<std::string> wanted;
  for (const auto& [name, t] : own) wanted.insert(name);

  // Checkpoint name -> candidate module name, after the given prefixes and the rename.
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& [name, t] : checkpoint) {
    std::string n = name;
    for (const auto& p : options.strip_prefixes)
      if (!p.empty() && n.rfind(p, 0) == 0) {
        n.erase(0, p.size());
        break;
      }
    if (options.rename) {
      std::optional<std::string> renamed = options.rename(n);
      if (!renamed) continue;
      n = *renamed;
    }
    names.emplace_back(name, n);
  }
  LoadReport report;
  if (options.auto_prefix) {
    std::vector<std::string> candidates;
    for (const auto& [from, to] : names) candidates.push_back(to);
    choose_prefix(candidates, wanted, report.prefix_stripped, report.prefix_added);
    for (auto& [from, to] : names) {
      if (wanted.count(to)) continue;
      const std::string& strip = report.prefix_stripped;
      if (!strip.empty() && to.rfind(strip, 0) == 0 && wanted.count(to.substr(strip.size())))
        to.erase(0, strip.size());
      else if (!report.prefix_added.empty() && wanted.count(report.prefix_added + to))
        to = report.prefix_added + to;
    }
  }

  Params load;
  std::set<std::string> matched;
  for (const auto& [from, to] : names) {
    auto it = own.find(to);
    if (it == own.end() || !matched.insert(to).second) {
      report.unexpected.push_back(from);
      continue;
    }
    const Tensor& value = checkpoint.at(from);
    Type expected = it->second.type(), found = value.type();
    bool converts = is_floating(expected.dtype) && is_floating(found.dtype);
    if (expected.shape != found.shape || (expected.dtype != found.dtype && !converts)) {
      report.wrong_shape.push_back({to, expected, found});
      continue;
    }
    if (expected.dtype != found.dtype) {
      report.converted.push_back(to + ": " + std::string(dtype_name(found.dtype)) + " -> " +
                                 std::string(dtype_name(expected.dtype)));
      load.emplace(to, cast(value, expected.dtype));
    } else {
      load.emplace(to, value);
    }
  }
  for (const auto& name : wanted)
    if (!matched.count(name)) report.missing.push_back(name);
  for (const auto& [name, t] : load) report.loaded.push_back(name);
  if (options.strict && !report.ok())
    throw IOError("match_and_load: the checkpoint does not match the module:\n" + report.str());
  module.load_state_dict(load, /*strict=*/false);
  return report;
}

LoadReport match_and_load(nn::Module& module, const std::string& path,
                          const MatchOptions& options) {
  return match_and_load(module, load_checkpoint_tensors(path), options);
}

}  // namespace kiln
