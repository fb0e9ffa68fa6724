// NodeIndex: node pointer -> position, for the walks that run on every eval (hashing a
// graph, linearizing a live history). An open-addressing table in one array: a few hundred
// nodes cost one allocation, where a std::unordered_map allocates once per node.
// Tests: tests/ir/hash_test.cpp (through structural_hash).
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

class NodeIndex {
 public:
  static constexpr uint32_t kAbsent = ~uint32_t{0};

  // Forgets every entry; keeps the table for the next walk.
  void clear() {
    slots_.assign(slots_.size(), Slot{});
    size_ = 0;
  }
  // The position of `n`, or kAbsent.
  uint32_t find(const Node* n) const {
    if (slots_.empty()) return kAbsent;
    for (size_t i = start(n);; i = (i + 1) & mask()) {
      if (slots_[i].node == n) return slots_[i].position;
      if (!slots_[i].node) return kAbsent;
    }
  }
  bool contains(const Node* n) const { return find(n) != kAbsent; }
  // Records `n` at `position`; a node recorded already keeps its first position.
  void insert(const Node* n, uint32_t position) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    for (size_t i = start(n);; i = (i + 1) & mask()) {
      if (slots_[i].node == n) return;
      if (!slots_[i].node) {
        slots_[i] = {n, position};
        ++size_;
        return;
      }
    }
  }

 private:
  struct Slot {
    const Node* node = nullptr;
    uint32_t position = 0;
  };
  size_t mask() const { return slots_.size() - 1; }
  size_t start(const Node* n) const {
    // Fibonacci hashing of the address; nodes are at least 16-byte aligned.
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(n) >> 4) * 0x9e3779b97f4a7c15ull >>
                               (64 - std::countr_zero(slots_.size())));
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : 2 * old.size(), Slot{});
    size_ = 0;
    for (const Slot& s : old)
      if (s.node) insert(s.node, s.position);
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace kiln::ir
