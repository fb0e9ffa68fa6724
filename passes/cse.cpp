// cse: a hash table of the nodes kept so far, keyed by structure (see cse.h).
#include "passes/cse.h"

#include <bit>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>

#include "passes/rewriter.h"
#include "passes/statistic.h"

namespace kiln::passes {

namespace {

Statistic num_merged("cse", "nodes merged");

// Constants larger than this merge only when they share a buffer.
constexpr size_t kMaxComparedConstantBytes = 64 * 1024;

void mix(size_t& h, size_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); }

size_t hash_attr(const ir::AttrValue& a) {
  size_t h = a.index();
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          for (int64_t x : v) mix(h, std::hash<int64_t>{}(x));
        } else if constexpr (std::is_same_v<T, double>) {
          mix(h, std::hash<uint64_t>{}(std::bit_cast<uint64_t>(v)));
        } else {
          mix(h, std::hash<T>{}(v));
        }
      },
      a);
  return h;
}

// Attributes equal bit for bit (a NaN pad value equals itself, +0 differs from -0).
bool attrs_equal(const ir::AttrValue& a, const ir::AttrValue& b) {
  if (a.index() != b.index()) return false;
  if (const double* x = std::get_if<double>(&a))
    return std::bit_cast<uint64_t>(*x) == std::bit_cast<uint64_t>(std::get<double>(b));
  return a == b;
}

bool comparable_constant(const ir::Node& n) {
  return n.buffer && n.buffer->nbytes() <= kMaxComparedConstantBytes;
}

std::string_view constant_bytes(const ir::Node& n) {
  return {reinterpret_cast<const char*>(n.buffer->data()), n.buffer->nbytes()};
}

size_t structural_hash(const ir::Node& n) {
  size_t h = static_cast<size_t>(n.op);
  mix(h, static_cast<size_t>(n.type.dtype));
  for (int64_t d : n.type.shape) mix(h, std::hash<int64_t>{}(d));
  for (const ir::NodePtr& op : n.operands) mix(h, std::hash<const ir::Node*>{}(op.get()));
  for (const ir::AttrValue& a : n.attrs) mix(h, hash_attr(a));
  if (n.op == ir::OpKind::Constant) {
    if (comparable_constant(n))
      mix(h, std::hash<std::string_view>{}(constant_bytes(n)));
    else
      mix(h, std::hash<const Buffer*>{}(n.buffer.get()));
  }
  return h;
}

bool structurally_equal(const ir::Node& a, const ir::Node& b) {
  if (a.op != b.op || a.type != b.type || a.operands != b.operands ||
      a.attrs.size() != b.attrs.size())
    return false;
  for (size_t i = 0; i < a.attrs.size(); ++i)
    if (!attrs_equal(a.attrs[i], b.attrs[i])) return false;
  if (a.buffer == b.buffer) return true;
  // An evaluated node holds its value in its buffer; only a constant's data is compared.
  return a.op == ir::OpKind::Constant && comparable_constant(a) && comparable_constant(b) &&
         constant_bytes(a) == constant_bytes(b);
}

}  // namespace

bool cse(ir::Graph& graph) {
  std::unordered_multimap<size_t, ir::NodePtr> seen;
  return GraphRewriter::rewrite(graph, "cse",
                                [&](const ir::NodePtr& node, const GraphRewriter&) -> ir::NodePtr {
                                  // Parameters are not in the body; every body op is pure, so equal
                                  // means same value.
                                  size_t h = structural_hash(*node);
                                  auto [first, last] = seen.equal_range(h);
                                  for (auto it = first; it != last; ++it)
                                    if (structurally_equal(*it->second, *node)) {
                                      ++num_merged;
                                      return it->second;
                                    }
                                  seen.emplace(h, node);
                                  return nullptr;
                                });
}

}  // namespace kiln::passes
