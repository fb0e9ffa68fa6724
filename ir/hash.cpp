// Structural hash: a 64-bit streaming hash over a canonical walk of the graph, where each
// operand is named by its position (parameter i or body node j), never by its name.
#include "ir/hash.h"

#include <bit>
#include <cstring>
#include <string_view>

#include "ir/node_index.h"

namespace kiln::ir {

namespace {

// splitmix64's finalizer: a bijective mix with good avalanche.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The two halves of a 128-bit product, folded (wyhash's mixing step): one multiplication
// mixes a word into the state, where two rounds of mix() cost five operations each.
uint64_t fold_mul(uint64_t a, uint64_t b) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

class Hasher {
 public:
  void add(uint64_t v) {
    state_ = fold_mul(state_ ^ v ^ 0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull);
    ++count_;
  }
  void add_bytes(const void* data, size_t n) {
    add(n);
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; i += 8) {
      uint64_t w = 0;
      std::memcpy(&w, p + i, n - i < 8 ? n - i : 8);
      add(w);
    }
  }
  void add(std::string_view s) { add_bytes(s.data(), s.size()); }
  void add(const Type& t) {
    add(static_cast<uint64_t>(t.dtype));
    add(t.shape.size());
    for (int64_t d : t.shape) add(static_cast<uint64_t>(d));
  }
  void add(const AttrValue& v) {
    add(v.index());
    struct Visitor {
      Hasher& h;
      void operator()(int64_t x) const { h.add(static_cast<uint64_t>(x)); }
      void operator()(double x) const { h.add(std::bit_cast<uint64_t>(x)); }
      void operator()(bool x) const { h.add(uint64_t{x}); }
      void operator()(const std::vector<int64_t>& x) const {
        h.add(x.size());
        for (int64_t e : x) h.add(static_cast<uint64_t>(e));
      }
      void operator()(const std::string& x) const { h.add(std::string_view(x)); }
    };
    std::visit(Visitor{*this}, v);
  }
  uint64_t value() const { return mix(state_ + count_); }

 private:
  uint64_t state_ = 0x6b696c6e;  // "kiln"
  uint64_t count_ = 0;
};

// Operand references: parameters and body nodes live in disjoint ranges; a node outside
// the graph (an invalid graph) hashes as a marker rather than crashing.
constexpr uint64_t kBodyBase = uint64_t{1} << 32;
constexpr uint64_t kOutside = ~uint64_t{0};

// The hash of parameters, body and results given as lists; get(x) is the node behind an
// element of a list.
template <class List, class Get>
uint64_t hash_lists(const List& params, const List& nodes, const List& results, Get get,
                    const HashOptions& options) {
  NodeIndex ids;
  Hasher h;
  h.add(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Node* p = get(params[i]);
    ids.insert(p, static_cast<uint32_t>(i));
    if (p) h.add(p->type);
  }
  h.add(nodes.size());
  auto ref = [&](const Node* n) {
    const uint32_t id = ids.find(n);
    return id == NodeIndex::kAbsent ? kOutside
           : id < params.size()     ? uint64_t{id}
                                    : kBodyBase + (id - params.size());
  };
  for (size_t j = 0; j < nodes.size(); ++j) {
    const Node* n = get(nodes[j]);
    if (!n) {
      h.add(kOutside);
      continue;
    }
    h.add(static_cast<uint64_t>(n->op));
    h.add(n->type);
    h.add(n->operands.size());
    for (const NodePtr& o : n->operands) h.add(ref(o.get()));
    h.add(n->attrs.size());
    for (const AttrValue& a : n->attrs) h.add(a);
    if (n->op == OpKind::Constant && n->buffer) {
      const Buffer& b = *n->buffer;
      h.add(b.type());
      if (!(options.ignore_scalar_constant_values && b.type().rank() == 0))
        h.add_bytes(b.data(), b.nbytes());
    }
    ids.insert(n, static_cast<uint32_t>(params.size() + j));
  }
  h.add(results.size());
  for (const auto& r : results) h.add(ref(get(r)));
  return h.value();
}

}  // namespace

uint64_t structural_hash(const Graph& graph, const HashOptions& options) {
  return hash_lists(
      graph.params, graph.nodes, graph.results, [](const NodePtr& n) { return n.get(); }, options);
}

uint64_t structural_hash(std::span<const Node* const> params, std::span<const Node* const> nodes,
                         std::span<const Node* const> results, const HashOptions& options) {
  return hash_lists(
      params, nodes, results, [](const Node* n) { return n; }, options);
}

}  // namespace kiln::ir
