// rearrange / reduce / repeat (einops' pattern language) and einsum, lowered to views,
// reductions and batched matmuls. A pattern is parsed into groups of elementary axes; the
// input is reshaped to its elementary axes, reduced, permuted into the right's order,
// broadcast along new axes and reshaped into the right's groups, skipping every step that
// changes nothing. einsum takes diagonals and sums private indices per operand, then
// contracts pairs greedily. Guide: docs/einops.md. Tests: tests/frontend/einops_test.cpp.
#include <kiln/einops.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace kiln {
namespace {

// ---------------------------------------------------------------------------------------
// Patterns

// One elementary axis of a pattern: a name, or an anonymous number ("1", "2") whose
// length is fixed. Anonymous axes get a unique internal name, so that "2" on the left
// and "2" on the right are different axes, as in einops.
struct Elem {
  std::string name;
  int64_t fixed = -1;  // an anonymous axis's length
  bool ellipsis = false;
};

// One dimension of a side: a single axis, or a parenthesized composition of axes
// (possibly empty: "()").
struct Group {
  bool composite = false;
  std::vector<Elem> elems;
};

using Side = std::vector<Group>;

const char* side_name(bool left) { return left ? "left" : "right"; }

class PatternParser {
 public:
  PatternParser(std::string op, std::string pattern)
      : op_(std::move(op)), pattern_(std::move(pattern)) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw PatternError(op_ + ": pattern '" + pattern_ + "': " + why);
  }
  [[noreturn]] void fail_shape(const std::string& why) const {
    throw ShapeError(op_ + ": pattern '" + pattern_ + "': " + why);
  }

  std::pair<Side, Side> parse() {
    size_t arrow = pattern_.find("->");
    if (arrow == std::string::npos) fail("no '->' between the input's axes and the result's");
    if (pattern_.find("->", arrow + 2) != std::string::npos) fail("'->' appears twice");
    return {parse_side(pattern_.substr(0, arrow), true),
            parse_side(pattern_.substr(arrow + 2), false)};
  }

 private:
  Side parse_side(const std::string& text, bool left) {
    Side side;
    std::set<std::string> seen;
    bool in_group = false, ellipsis = false;
    size_t i = 0;
    auto add = [&](Elem e) {
      if (in_group) {
        side.back().elems.push_back(std::move(e));
      } else {
        side.push_back(Group{false, {std::move(e)}});
      }
    };
    while (i < text.size()) {
      char c = text[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (c == '(') {
        if (in_group)
          fail("nested parentheses on the " + std::string(side_name(left)) +
               "; groups do not nest");
        in_group = true;
        side.push_back(Group{true, {}});
        ++i;
      } else if (c == ')') {
        if (!in_group)
          fail("unbalanced parentheses: ')' without '(' on the " + std::string(side_name(left)));
        in_group = false;
        ++i;
      } else if (text.compare(i, 3, "...") == 0) {
        if (ellipsis) fail("'...' appears twice on the " + std::string(side_name(left)));
        if (in_group && left)
          fail("'...' inside parentheses on the left; it can only be merged on the right");
        ellipsis = true;
        add(Elem{"...", -1, true});
        i += 3;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t j = i;
        while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
        std::string digits = text.substr(i, j - i);
        int64_t n = digits.size() > 15 ? 0 : std::stoll(digits);
        if (n <= 0) fail("anonymous axis '" + digits + "' must have a length from 1 up");
        add(Elem{"#" + std::to_string(anonymous_++) + ":" + digits, n, false});
        i = j;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t j = i;
        while (j < text.size() &&
               (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_'))
          ++j;
        std::string name = text.substr(i, j - i);
        if (!seen.insert(name).second)
          fail("axis '" + name + "' appears twice on the " + std::string(side_name(left)));
        add(Elem{name, -1, false});
        i = j;
      } else {
        fail("unexpected character '" + std::string(1, c) + "' on the " +
             std::string(side_name(left)) +
             "; axes are names, numbers, '...', or groups in parentheses");
      }
    }
    if (in_group)
      fail("unbalanced parentheses: '(' never closed on the " + std::string(side_name(left)));
    return side;
  }

  std::string op_, pattern_;
  int anonymous_ = 0;
};

bool is_anonymous(const Elem& e) { return e.fixed >= 0; }

// How an axis is shown in messages: its name, or the number of an anonymous one.
std::string shown(const Elem& e) { return is_anonymous(e) ? std::to_string(e.fixed) : e.name; }

std::string group_str(const Group& g) {
  std::string s = g.composite ? "(" : "";
  for (size_t i = 0; i < g.elems.size(); ++i) s += (i ? " " : "") + shown(g.elems[i]);
  return s + (g.composite ? ")" : "");
}

// Replaces "..." by `n` axes named "...0", "...1", ...: one group each where "..." stands
// alone, one axis each inside a composition.
Side expand_ellipsis(const Side& side, int n) {
  Side out;
  for (const Group& g : side) {
    if (!g.composite && g.elems[0].ellipsis) {
      for (int k = 0; k < n; ++k) out.push_back(Group{false, {Elem{"..." + std::to_string(k)}}});
      continue;
    }
    Group e{g.composite, {}};
    for (const Elem& a : g.elems) {
      if (!a.ellipsis) {
        e.elems.push_back(a);
      } else {
        for (int k = 0; k < n; ++k) e.elems.push_back(Elem{"..." + std::to_string(k)});
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

bool has_ellipsis(const Side& side) {
  for (const Group& g : side)
    for (const Elem& e : g.elems)
      if (e.ellipsis) return true;
  return false;
}

enum class PatternOp { Rearrange, Reduce, Repeat };

std::string op_name(PatternOp op) {
  switch (op) {
    case PatternOp::Rearrange: return "rearrange";
    case PatternOp::Reduce: return "reduce";
    case PatternOp::Repeat: return "repeat";
  }
  return "";
}

Tensor reduce_axes(const Tensor& x, ReduceOp r, const std::vector<int>& axes, Loc loc) {
  switch (r) {
    case ReduceOp::Sum: return sum(x, axes, false, loc);
    case ReduceOp::Mean: return mean(x, axes, false, loc);
    case ReduceOp::Max: return max(x, axes, false, loc);
    case ReduceOp::Min: return min(x, axes, false, loc);
    case ReduceOp::Prod: return prod(x, axes, false, loc);
  }
  return x;
}

Tensor reshape_if_needed(const Tensor& x, const Shape& shape, Loc loc) {
  return x.shape() == shape ? x : reshape(x, shape, loc);
}

Tensor permute_if_needed(const Tensor& x, const std::vector<int>& perm, Loc loc) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int>(i)) return permute(x, perm, loc);
  return x;
}

// The lengths of every elementary axis: the user's sizes, the anonymous axes', and those
// inferred from the input's dimensions (one unknown per group of the left).
std::map<std::string, int64_t> resolve_lengths(const PatternParser& p, const Side& left,
                                               const Side& right, const Tensor& x,
                                               const AxisSizes& sizes) {
  std::map<std::string, int64_t> len;
  std::set<std::string> named;
  for (const Side* s : {&left, &right})
    for (const Group& g : *s)
      for (const Elem& e : g.elems) {
        if (is_anonymous(e))
          len[e.name] = e.fixed;
        else
          named.insert(e.name);
      }
  for (const auto& [name, n] : sizes) {
    if (!named.count(name))
      p.fail("sizes give axis '" + name + "', which the pattern does not name");
    if (n < 0) p.fail_shape("axis '" + name + "' is given a negative length " + std::to_string(n));
    len[name] = n;
  }
  for (size_t d = 0; d < left.size(); ++d) {
    const Group& g = left[d];
    const int64_t dim = x.shape()[d];
    int64_t known = 1;
    std::vector<const Elem*> unknown;
    std::string given;
    for (const Elem& e : g.elems) {
      auto it = len.find(e.name);
      if (it == len.end()) {
        unknown.push_back(&e);
      } else {
        known *= it->second;
        given += (given.empty() ? "" : ", ") + shown(e) + "=" + std::to_string(it->second);
      }
    }
    const std::string where = "input dimension " + std::to_string(d) + " " + group_str(g) +
                              " has length " + std::to_string(dim);
    if (unknown.size() > 1)
      p.fail("cannot infer both '" + shown(*unknown[0]) + "' and '" + shown(*unknown[1]) + "' of " +
             group_str(g) + "; give all but one of its axes in sizes");
    if (unknown.empty()) {
      if (known != dim)
        p.fail_shape(where + " but " +
                     (given.empty() ? std::string("the pattern makes it 1")
                                    : given + " make it " + std::to_string(known)) +
                     "; the sizes must match the input");
    } else if (known == 0 || dim % known != 0) {
      p.fail_shape(where + ", which is not divisible by " + std::to_string(known) + " (" + given +
                   "), so '" + shown(*unknown[0]) + "' cannot be inferred");
    } else {
      len[unknown[0]->name] = dim / known;
    }
  }
  return len;
}

Tensor apply_pattern(PatternOp op, const Tensor& x, const std::string& pattern, ReduceOp reduction,
                     const AxisSizes& sizes, Loc loc) {
  PatternParser p(op_name(op), pattern);
  auto [left, right] = p.parse();
  const int groups = static_cast<int>(left.size());
  int n_ellipsis = 0;
  if (has_ellipsis(left)) {
    n_ellipsis = x.ndim() - (groups - 1);
    if (n_ellipsis < 0)
      p.fail_shape("the left names at least " + std::to_string(groups - 1) +
                   " axes but the input " + x.type().str() + " has rank " +
                   std::to_string(x.ndim()));
  } else {
    if (has_ellipsis(right)) p.fail("'...' on the right but not on the left");
    if (groups != x.ndim())
      p.fail_shape("the left has " + std::to_string(groups) + " axes but the input " +
                   x.type().str() + " has rank " + std::to_string(x.ndim()));
  }
  left = expand_ellipsis(left, n_ellipsis);
  right = expand_ellipsis(right, n_ellipsis);
  std::map<std::string, int64_t> len = resolve_lengths(p, left, right, x, sizes);

  // The left's elementary axes (anonymous length-1 axes dropped: they hold nothing).
  std::vector<const Elem*> in;
  std::set<std::string> on_left, on_right;
  for (const Group& g : left)
    for (const Elem& e : g.elems) {
      on_left.insert(e.name);
      if (!(is_anonymous(e) && e.fixed == 1)) in.push_back(&e);
    }
  std::vector<const Elem*> out;
  for (const Group& g : right)
    for (const Elem& e : g.elems) {
      on_right.insert(e.name);
      out.push_back(&e);
    }
  for (const Elem* e : out) {
    if (on_left.count(e->name) || (is_anonymous(*e) && e->fixed == 1)) continue;
    if (op != PatternOp::Repeat) {
      if (is_anonymous(*e))
        p.fail("anonymous axis " + shown(*e) +
               " on the right; only repeat adds axes longer than 1");
      p.fail("axis '" + e->name + "' on the right is not on the left; only repeat adds axes");
    }
    if (!len.count(e->name))
      p.fail("new axis '" + e->name + "' on the right has no length; give it in sizes");
  }

  for (const Elem* e : in) {
    if (on_right.count(e->name) || op == PatternOp::Reduce) continue;
    if (is_anonymous(*e))
      p.fail("anonymous axis " + shown(*e) +
             " of the left is not on the right; only reduce removes axes");
    if (e->name.starts_with("..."))
      p.fail("the axes of '...' on the left are missing on the right; only reduce removes axes");
    p.fail("axis '" + e->name + "' of the left is missing on the right; only reduce removes axes");
  }
  Shape result;
  for (const Group& g : right) {
    int64_t n = 1;
    for (const Elem& e : g.elems) n *= len.at(e.name);
    result.push_back(n);
  }
  Shape elementary;
  std::vector<std::string> in_order, out_order;
  for (const Elem* e : in) {
    elementary.push_back(len.at(e->name));
    in_order.push_back(e->name);
  }
  for (const Elem* e : out)
    if (on_left.count(e->name)) out_order.push_back(e->name);
  // Axes that keep their order and gain no copies: one reshape (or nothing).
  if (in_order == out_order && (op != PatternOp::Repeat || x.size() == numel(result)))
    return reshape_if_needed(x, result, loc);
  Tensor y = reshape_if_needed(x, elementary, loc);

  std::vector<int> reduced;
  std::vector<const Elem*> kept;
  for (size_t i = 0; i < in.size(); ++i) {
    if (on_right.count(in[i]->name))
      kept.push_back(in[i]);
    else
      reduced.push_back(static_cast<int>(i));
  }
  if (!reduced.empty()) y = reduce_axes(y, reduction, reduced, loc);

  std::vector<int> perm;
  Shape with_new, full;  // the right's elementary axes: new ones as 1, then at their lengths
  for (const Elem* e : out) {
    auto it =
        std::find_if(kept.begin(), kept.end(), [&](const Elem* k) { return k->name == e->name; });
    full.push_back(len.at(e->name));
    if (it != kept.end()) {
      perm.push_back(static_cast<int>(it - kept.begin()));
      with_new.push_back(len.at(e->name));
    } else {
      with_new.push_back(1);
    }
  }
  y = permute_if_needed(y, perm, loc);
  y = reshape_if_needed(y, with_new, loc);
  if (with_new != full) y = broadcast_to(y, full, loc);
  return reshape_if_needed(y, result, loc);
}

// ---------------------------------------------------------------------------------------
// einsum

// Indices are letters (their char code) or the dimensions of "..." (kEllipsisId + k,
// counted so that the last dimensions of every operand's "..." share ids: they broadcast
// right-aligned, as in NumPy).
constexpr int kEllipsisId = 256;
using Ids = std::vector<int>;

std::string id_str(int id) {
  return id < kEllipsisId ? std::string(1, static_cast<char>(id))
                          : "... dimension " + std::to_string(id - kEllipsisId);
}

struct Term {
  std::string letters;   // without "..."
  int ellipsis_at = -1;  // position of "..." among the letters, or -1
};

struct Operand {
  Tensor t;
  Ids ids;
};

class EinsumLowering {
 public:
  EinsumLowering(std::string spec, Loc loc) : spec_(std::move(spec)), loc_(loc) {}

  Tensor run(const std::vector<Tensor>& operands) {
    std::string text;
    for (char c : spec_)
      if (!std::isspace(static_cast<unsigned char>(c))) text += c;
    size_t arrow = text.find("->");
    std::string inputs = text.substr(0, arrow);
    std::vector<Term> terms;
    size_t start = 0;
    for (;;) {
      size_t comma = inputs.find(',', start);
      terms.push_back(parse_term(inputs.substr(start, comma - start),
                                 "operand " + std::to_string(terms.size())));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (terms.size() != operands.size())
      fail("names " + std::to_string(terms.size()) + " operand" + (terms.size() == 1 ? "" : "s") +
           " but " + std::to_string(operands.size()) + (operands.size() == 1 ? " was" : " were") +
           " given");
    bind(terms, operands);

    Ids output;
    if (arrow != std::string::npos) {
      std::string rhs = text.substr(arrow + 2);
      if (rhs.find("->") != std::string::npos) fail("'->' appears twice");
      Term o = parse_term(rhs, "the output");
      output = term_ids(o, o.ellipsis_at >= 0 ? max_ellipsis_ : 0);
      for (size_t i = 0; i < output.size(); ++i) {
        if (std::count(output.begin(), output.end(), output[i]) > 1)
          fail("index '" + id_str(output[i]) + "' appears twice in the output");
        if (!sizes_.count(output[i]))
          fail("output index '" + id_str(output[i]) + "' is in no operand");
      }
    } else {
      std::map<int, int> count;
      for (const Operand& op : ops_)
        for (int id : op.ids) ++count[id];
      for (int k = 0; k < max_ellipsis_; ++k) output.push_back(kEllipsisId + k);
      for (const auto& [id, n] : count)
        if (id < kEllipsisId && n == 1) output.push_back(id);
    }
    output_ = output;

    for (Operand& op : ops_) take_diagonals(op);
    for (size_t i = 0; i < ops_.size(); ++i) sum_private(i);
    while (ops_.size() > 1) contract_cheapest_pair();
    Operand& last = ops_[0];
    std::vector<int> perm;
    for (int id : output_)
      perm.push_back(
          static_cast<int>(std::find(last.ids.begin(), last.ids.end(), id) - last.ids.begin()));
    // Every output index is in some operand, so the last one holds them all.
    return permute_if_needed(last.t, perm, loc_);
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw PatternError("einsum: '" + spec_ + "': " + why);
  }
  [[noreturn]] void fail_shape(const std::string& why) const {
    throw ShapeError("einsum: '" + spec_ + "': " + why);
  }

  Term parse_term(const std::string& s, const std::string& what) {
    Term t;
    for (size_t i = 0; i < s.size();) {
      if (s.compare(i, 3, "...") == 0) {
        if (t.ellipsis_at >= 0) fail("'...' appears twice in " + what);
        t.ellipsis_at = static_cast<int>(t.letters.size());
        i += 3;
      } else if (std::isalpha(static_cast<unsigned char>(s[i]))) {
        t.letters += s[i++];
      } else {
        fail("unexpected character '" + std::string(1, s[i]) + "' in " + what +
             "; indices are letters and '...'");
      }
    }
    return t;
  }

  // The ids of a term whose "..." covers `n` dimensions.
  Ids term_ids(const Term& t, int n) const {
    Ids ids;
    for (size_t i = 0; i <= t.letters.size(); ++i) {
      if (static_cast<int>(i) == t.ellipsis_at)
        for (int k = 0; k < n; ++k) ids.push_back(kEllipsisId + max_ellipsis_ - n + k);
      if (i < t.letters.size()) ids.push_back(static_cast<unsigned char>(t.letters[i]));
    }
    return ids;
  }

  // Checks ranks and lengths, and records the length of every index. A "..." dimension of
  // length 1 against a longer one broadcasts: it is dropped from its operand.
  void bind(const std::vector<Term>& terms, const std::vector<Tensor>& operands) {
    std::vector<int> ellipsis_dims;
    for (size_t i = 0; i < terms.size(); ++i) {
      const int letters = static_cast<int>(terms[i].letters.size());
      const int rank = operands[i].ndim();
      if (terms[i].ellipsis_at < 0 ? rank != letters : rank < letters)
        fail_shape("operand " + std::to_string(i) + " (" + operands[i].type().str() +
                   ") has rank " + std::to_string(rank) + " but its term names " +
                   std::to_string(letters) + " ind" + (letters == 1 ? "ex" : "ices") +
                   (terms[i].ellipsis_at < 0 ? "" : " besides '...'"));
      ellipsis_dims.push_back(terms[i].ellipsis_at < 0 ? 0 : rank - letters);
      max_ellipsis_ = std::max(max_ellipsis_, ellipsis_dims.back());
    }
    std::map<int, size_t> first;  // the operand that set each index's length
    for (size_t i = 0; i < terms.size(); ++i) {
      Ids ids = term_ids(terms[i], ellipsis_dims[i]);
      for (size_t d = 0; d < ids.size(); ++d) {
        const int64_t n = operands[i].shape()[d];
        auto [it, fresh] = sizes_.emplace(ids[d], n);
        if (fresh) {
          first[ids[d]] = i;
        } else if (it->second != n) {
          const bool broadcasts = ids[d] >= kEllipsisId && (it->second == 1 || n == 1);
          if (!broadcasts)
            fail_shape("index '" + id_str(ids[d]) + "' has length " + std::to_string(it->second) +
                       " in operand " + std::to_string(first[ids[d]]) + " but " +
                       std::to_string(n) + " in operand " + std::to_string(i));
          it->second = std::max(it->second, n);
        }
      }
      ops_.push_back(Operand{operands[i], ids});
    }
    for (Operand& op : ops_) {
      Ids ids;
      Shape shape;
      for (size_t d = 0; d < op.ids.size(); ++d) {
        if (op.t.shape()[d] == 1 && sizes_.at(op.ids[d]) != 1) continue;
        ids.push_back(op.ids[d]);
        shape.push_back(op.t.shape()[d]);
      }
      op.t = reshape_if_needed(op.t, shape, loc_);
      op.ids = ids;
    }
  }

  // An index repeated in one operand takes the diagonal: the two axes move last, merge,
  // and a slice with step n + 1 picks the elements where both indices agree.
  void take_diagonals(Operand& op) {
    for (;;) {
      size_t p = 0, q = 0;
      for (size_t i = 0; i < op.ids.size() && !q; ++i)
        for (size_t j = i + 1; j < op.ids.size(); ++j)
          if (op.ids[i] == op.ids[j]) {
            p = i, q = j;
            break;
          }
      if (!q) return;
      std::vector<int> perm;
      Ids ids;
      Shape shape;
      for (size_t d = 0; d < op.ids.size(); ++d)
        if (d != p && d != q) {
          perm.push_back(static_cast<int>(d));
          ids.push_back(op.ids[d]);
          shape.push_back(op.t.shape()[d]);
        }
      const int id = op.ids[p];
      const int64_t n = sizes_.at(id);
      perm.push_back(static_cast<int>(p));
      perm.push_back(static_cast<int>(q));
      shape.push_back(n * n);
      Tensor t = reshape(permute_if_needed(op.t, perm, loc_), shape, loc_);
      op.t = slice(t, -1, 0, n * n, n + 1, loc_);
      ids.push_back(id);
      op.ids = ids;
    }
  }

  // Whether an index is still needed outside operand `skip` (and `skip2`): by the output
  // or by another operand.
  bool needed(int id, size_t skip, size_t skip2) const {
    if (std::find(output_.begin(), output_.end(), id) != output_.end()) return true;
    for (size_t i = 0; i < ops_.size(); ++i)
      if (i != skip && i != skip2 &&
          std::find(ops_[i].ids.begin(), ops_[i].ids.end(), id) != ops_[i].ids.end())
        return true;
    return false;
  }

  // Sums the indices only operand i holds and nothing else needs.
  void sum_private(size_t i) {
    Operand& op = ops_[i];
    std::vector<int> axes;
    Ids ids;
    for (size_t d = 0; d < op.ids.size(); ++d) {
      if (needed(op.ids[d], i, i))
        ids.push_back(op.ids[d]);
      else
        axes.push_back(static_cast<int>(d));
    }
    if (axes.empty()) return;
    op.t = sum(op.t, axes, false, loc_);
    op.ids = ids;
  }

  // The ids a pair's result keeps: those of either that the output or a third operand needs.
  Ids pair_result(size_t i, size_t j) const {
    Ids out;
    for (const Ids* s : {&ops_[i].ids, &ops_[j].ids})
      for (int id : *s)
        if (needed(id, i, j) && std::find(out.begin(), out.end(), id) == out.end())
          out.push_back(id);
    return out;
  }

  double numel_of(const Ids& ids) const {
    double n = 1;
    for (int id : ids) n *= static_cast<double>(sizes_.at(id));
    return n;
  }

  // opt_einsum's greedy choice: the pair whose result is smallest relative to its inputs
  // (size(result) - size(a) - size(b)); ties go to the first pair.
  void contract_cheapest_pair() {
    size_t bi = 0, bj = 1;
    double best = 0;
    bool first = true;
    for (size_t i = 0; i < ops_.size(); ++i)
      for (size_t j = i + 1; j < ops_.size(); ++j) {
        double cost = numel_of(pair_result(i, j)) - numel_of(ops_[i].ids) - numel_of(ops_[j].ids);
        if (first || cost < best) bi = i, bj = j, best = cost, first = false;
      }
    Operand r = contract(bi, bj);
    ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(bj));
    ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(bi));
    ops_.push_back(std::move(r));
  }

  static bool holds(const Ids& ids, int id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }

  // x's axes in the order they have in `order` (which lists every id x holds).
  Tensor ordered(const Operand& x, const Ids& order) const {
    std::vector<int> perm;
    for (int id : order) {
      auto it = std::find(x.ids.begin(), x.ids.end(), id);
      if (it != x.ids.end()) perm.push_back(static_cast<int>(it - x.ids.begin()));
    }
    return permute_if_needed(x.t, perm, loc_);
  }

  // x ordered by the concatenated runs, each run merged into one dimension (the runs list
  // every id x holds; an id x lacks counts 1).
  Tensor arrange(const Operand& x, const std::vector<Ids>& runs) const {
    Ids order;
    Shape shape;
    for (const Ids& run : runs) {
      int64_t n = 1;
      for (int id : run)
        if (holds(x.ids, id)) n *= sizes_.at(id);
      order.insert(order.end(), run.begin(), run.end());
      shape.push_back(n);
    }
    return reshape_if_needed(ordered(x, order), shape, loc_);
  }

  // The shape of a tensor holding `have` (in order of `want`) with 1 for the ids of `want`
  // it lacks.
  Shape with_ones(const Ids& have, const Ids& want) const {
    Shape s;
    for (int id : want) s.push_back(holds(have, id) ? sizes_.at(id) : 1);
    return s;
  }

  // One pair: batch indices (in both, still needed), contracted ones (in both, not
  // needed), and each side's own. A batched matmul [batch, m, k] x [batch, k, n]; without
  // contracted indices, a broadcast multiply.
  Operand contract(size_t i, size_t j) {
    const Operand& a = ops_[i];
    const Operand& b = ops_[j];
    Ids batch, k, m, n;
    for (int id : a.ids) {
      if (!holds(b.ids, id))
        m.push_back(id);
      else if (needed(id, i, j))
        batch.push_back(id);
      else
        k.push_back(id);
    }
    for (int id : b.ids)
      if (!holds(a.ids, id)) n.push_back(id);
    Ids ids = batch;
    ids.insert(ids.end(), m.begin(), m.end());
    ids.insert(ids.end(), n.begin(), n.end());
    if (k.empty()) {
      Tensor x = reshape_if_needed(ordered(a, ids), with_ones(a.ids, ids), loc_);
      Tensor y = reshape_if_needed(ordered(b, ids), with_ones(b.ids, ids), loc_);
      return Operand{multiply(x, y, loc_), ids};
    }
    // Without batch indices the product is a plain 2-D matmul.
    std::vector<Ids> a_runs{m, k}, b_runs{k, n};
    if (!batch.empty()) {
      a_runs.insert(a_runs.begin(), batch);
      b_runs.insert(b_runs.begin(), batch);
    }
    Tensor x = arrange(a, a_runs);
    Tensor y = arrange(b, b_runs);
    Shape shape = with_ones(ids, ids);
    return Operand{reshape_if_needed(matmul(x, y, loc_), shape, loc_), ids};
  }

  std::string spec_;
  Loc loc_;
  int max_ellipsis_ = 0;
  std::map<int, int64_t> sizes_;
  std::vector<Operand> ops_;
  Ids output_;
};

}  // namespace

Tensor rearrange(const Tensor& x, const std::string& pattern, const AxisSizes& sizes, Loc loc) {
  return apply_pattern(PatternOp::Rearrange, x, pattern, ReduceOp::Sum, sizes, loc);
}

Tensor reduce(const Tensor& x, const std::string& pattern, ReduceOp reduction,
              const AxisSizes& sizes, Loc loc) {
  return apply_pattern(PatternOp::Reduce, x, pattern, reduction, sizes, loc);
}

Tensor repeat(const Tensor& x, const std::string& pattern, const AxisSizes& sizes, Loc loc) {
  return apply_pattern(PatternOp::Repeat, x, pattern, ReduceOp::Sum, sizes, loc);
}

Tensor einsum(const std::string& spec, const std::vector<Tensor>& operands, Loc loc) {
  if (operands.empty()) throw PatternError("einsum: '" + spec + "': no operands given");
  return EinsumLowering(spec, loc).run(operands);
}

}  // namespace kiln
