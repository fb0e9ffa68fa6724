// Node construction, constants, casts, broadcasting, dtype resolution and axis checks for
// the frontend's op files (see builder.h).
#include "frontend/builder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "ir/verifier.h"

#ifndef NDEBUG
#define KILN_VERIFY_NODES 1
#endif

namespace kiln::frontend {

void check_shape(std::string_view op, const Shape& shape, DType dtype) {
  if (static_cast<int>(shape.size()) > kMaxRank)
    throw ShapeError(std::string(op) + ": shape " + shape_str(shape) + " has rank " +
                     std::to_string(shape.size()) + "; kiln supports at most rank " +
                     std::to_string(kMaxRank));
  for (int64_t d : shape)
    if (d < 0)
      throw ShapeError(std::string(op) + ": shape " + shape_str(shape) +
                       " has a negative dimension; dimensions must be >= 0");
  if (ir::size_overflows(shape, static_cast<int64_t>(dtype_size(dtype))))
    throw ShapeError(std::string(op) + ": shape " + shape_str(shape) + " of " +
                     std::string(dtype_name(dtype)) +
                     " is too large: its size in bytes overflows int64; use smaller dimensions");
}

namespace {
thread_local const Loc* scoped_location = nullptr;
Loc located(Loc loc) { return scoped_location ? *scoped_location : loc; }
}  // namespace

LocationScope::LocationScope(Loc loc) : loc_(loc), previous_(scoped_location) {
  scoped_location = &loc_;
}
LocationScope::~LocationScope() { scoped_location = previous_; }

namespace {
template <class Operands>
Tensor make_of(ir::OpKind op, const Operands& operands, std::vector<ir::AttrValue> attrs, Type type,
               Loc loc) {
  loc = located(loc);
  check_shape(ir::op_name(op), type.shape, type.dtype);
  std::vector<ir::NodePtr> nodes;
  nodes.reserve(operands.size());
  for (const Tensor& t : operands) nodes.push_back(t.node());
  auto node = ir::make_node(op, std::move(nodes), std::move(attrs), std::move(type), loc);
#ifdef KILN_VERIFY_NODES
  ir::verify_node(*node);
#endif
  return Tensor(std::move(node));
}
}  // namespace

Tensor make(ir::OpKind op, const std::vector<Tensor>& operands, std::vector<ir::AttrValue> attrs,
            Type type, Loc loc) {
  return make_of(op, operands, std::move(attrs), std::move(type), loc);
}

Tensor make(ir::OpKind op, std::initializer_list<Tensor> operands, std::vector<ir::AttrValue> attrs,
            Type type, Loc loc) {
  return make_of(op, operands, std::move(attrs), std::move(type), loc);
}

void throw_dtype_refusal(std::string_view name, ir::OpKind op, DType dtype,
                         const std::string& operands, std::string_view advice) {
  throw DTypeError(std::string(name) + ": " + operands + " " + ir::dtype_refusal(op, dtype) +
                   std::string(advice));
}

Tensor constant(BufferPtr buffer, Loc loc) {
  loc = located(loc);
  auto node = ir::make_constant(std::move(buffer), loc);
#ifdef KILN_VERIFY_NODES
  ir::verify_node(*node);
#endif
  return Tensor(std::move(node));
}

namespace {
template <class T>
std::string join(const std::vector<T>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(v[i]);
  }
  return s + "]";
}
}  // namespace

std::string list_str(const std::vector<int64_t>& v) { return join(v); }
std::string list_str(const std::vector<int>& v) { return join(v); }

IntRange int_range(DType t) {
  switch (t) {
    case DType::I8: return {-128, 127};
    case DType::U8: return {0, 255};
    case DType::I32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    default: return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  }
}

namespace {

// Float to integer with the IR cast's rules: truncate, NaN gives 0, saturate.
int64_t float_to_int(double v, DType t) {
  if (std::isnan(v)) return 0;
  IntRange r = int_range(t);
  double tv = std::trunc(v);
  if (tv <= static_cast<double>(r.lo)) return r.lo;
  if (tv >= static_cast<double>(r.hi)) return r.hi;
  return static_cast<int64_t>(tv);
}

template <class T>
uint64_t bits_of(T v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}

// `value` stored as `dtype` (at most 8 bytes), in the low bytes of the result.
uint64_t scalar_bits(const Scalar& value, DType dtype) {
  bool is_int_like = value.kind() == Scalar::Kind::Bool || value.kind() == Scalar::Kind::Int;
  double d = value.as_double();
  auto as_int = [&] { return is_int_like ? value.as_int() : float_to_int(d, dtype); };
  switch (dtype) {
    case DType::Bool:
      return bits_of<uint8_t>(is_int_like ? value.as_int() != 0
                                          : (d != 0 || value.as_complex().imag() != 0));
    case DType::I8: return bits_of(static_cast<int8_t>(as_int()));
    case DType::U8: return bits_of(static_cast<uint8_t>(as_int()));
    case DType::I32: return bits_of(static_cast<int32_t>(as_int()));
    case DType::I64: return bits_of(as_int());
    case DType::F16: return bits_of(float_to_f16(static_cast<float>(d)));
    case DType::BF16: return bits_of(float_to_bf16(static_cast<float>(d)));
    case DType::F32: return bits_of(static_cast<float>(d));
    case DType::F64: return bits_of(d);
    case DType::C64: return bits_of(value.as_complex());
  }
  return 0;
}

// The scalar constants this thread made lately, as all-ones shapes of some rank (rank 0:
// the constant itself), by dtype, value, rank and call site: an op applied in a loop (relu's
// zero in every layer of an MLP step) reuses one constant instead of making a buffer and
// nodes each time. Direct-mapped, so bounded; the values are single elements, and constant
// nodes are never changed.
class ScalarCache {
 public:
  Tensor* find(DType dtype, uint64_t bits, size_t rank, Loc loc) {
    Entry& e = slot(dtype, bits, rank, loc);
    return e.value && e.dtype == dtype && e.bits == bits && e.rank == rank &&
                   e.line == loc.line() && e.column == loc.column() && e.file == loc.file_name()
               ? &*e.value
               : nullptr;
  }
  void insert(DType dtype, uint64_t bits, size_t rank, Loc loc, const Tensor& value) {
    slot(dtype, bits, rank, loc) =
        Entry{dtype, bits, rank, loc.file_name(), loc.line(), loc.column(), value};
  }

 private:
  struct Entry {
    DType dtype = DType::F32;
    uint64_t bits = 0;
    size_t rank = 0;
    const char* file = nullptr;
    uint_least32_t line = 0, column = 0;
    std::optional<Tensor> value;
  };
  Entry& slot(DType dtype, uint64_t bits, size_t rank, Loc loc) {
    uint64_t h = bits * 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(dtype) ^ rank << 8 ^
                 uint64_t { loc.line() } << 16 ^ uint64_t { loc.column() } << 40;
    return entries_[(h ^ h >> 29) % entries_.size()];
  }
  std::array<Entry, 64> entries_;
};

// `value` as a constant of `dtype` reshaped to `rank` ones, from this thread's cache when
// the same call site made it lately.
Tensor scalar_of_rank(std::string_view op, const Scalar& value, DType dtype, size_t rank, Loc loc) {
  check_scalar_fits(op, value, dtype);
  loc = located(loc);
  const uint64_t bits = scalar_bits(value, dtype);
  thread_local ScalarCache cache;
  if (Tensor* t = cache.find(dtype, bits, rank, loc)) return *t;
  auto buffer = std::make_shared<Buffer>(Type{dtype, {}});
  std::memcpy(buffer->data(), &bits, buffer->nbytes());
  Tensor t = constant(std::move(buffer), loc);
  if (rank > 0) t = reshape_to(t, Shape(rank, 1), loc);
  cache.insert(dtype, bits, rank, loc, t);
  return t;
}

}  // namespace

void check_scalar_fits(std::string_view op, const Scalar& value, DType dtype) {
  if (value.kind() == Scalar::Kind::Complex && !is_complex(dtype))
    throw DTypeError(std::string(op) + ": complex scalar " + value.str() +
                     " cannot become a real " + std::string(dtype_name(dtype)) +
                     " value; use a c64 tensor or pass the real part");
  if (value.kind() == Scalar::Kind::Int && is_integer(dtype)) {
    IntRange r = int_range(dtype);
    int64_t v = value.as_int();
    if (v < r.lo || v > r.hi)
      throw DTypeError(std::string(op) + ": scalar " + value.str() + " does not fit " +
                       std::string(dtype_name(dtype)) + " (range " + std::to_string(r.lo) + ".." +
                       std::to_string(r.hi) + "); cast the tensor to a wider dtype first");
  }
}

Tensor scalar_constant(std::string_view op, const Scalar& value, DType dtype, Loc loc) {
  return scalar_of_rank(op, value, dtype, 0, loc);
}

Tensor filled(std::string_view op, const Scalar& value, DType dtype, const Shape& shape, Loc loc) {
  Tensor ones = scalar_of_rank(op, value, dtype, shape.size(), loc);
  if (ones.shape() == shape) return ones;
  return make(ir::OpKind::Broadcast, {ones}, {}, Type{dtype, shape}, loc);
}

Tensor cast_to(const Tensor& x, DType dtype, Loc loc) {
  if (x.dtype() == dtype) return x;
  return make(ir::OpKind::Cast, {x}, {}, Type{dtype, x.shape()}, loc);
}

Tensor to_inexact(const Tensor& x, Loc loc) {
  return is_inexact(x.dtype()) ? x : cast_to(x, DType::F32, loc);
}

Tensor truth(const Tensor& x, Loc loc) {
  if (x.dtype() == DType::Bool) return x;
  Tensor zero = filled("truth", Scalar(0), x.dtype(), x.shape(), loc);
  return make(ir::OpKind::Ne, {x, zero}, {}, Type{DType::Bool, x.shape()}, loc);
}

Tensor reshape_to(const Tensor& x, const Shape& shape, Loc loc) {
  if (x.shape() == shape) return x;
  return make(ir::OpKind::Reshape, {x}, {}, Type{x.dtype(), shape}, loc);
}

Tensor expand_to(const Tensor& x, const Shape& shape, Loc loc) {
  if (x.shape() == shape) return x;
  if (x.shape().size() == shape.size())
    return make(ir::OpKind::Broadcast, {x}, {}, Type{x.dtype(), shape}, loc);
  Shape padded(shape.size() - x.shape().size(), 1);
  padded.insert(padded.end(), x.shape().begin(), x.shape().end());
  if (padded == shape) return reshape_to(x, shape, loc);
  return make(ir::OpKind::Broadcast, {reshape_to(x, padded, loc)}, {}, Type{x.dtype(), shape}, loc);
}

namespace {

// The NumPy broadcast of some shapes, or the first dimension where two of them conflict.
struct Broadcast {
  Shape shape;
  int64_t dim = -1, have = 0, got = 0;  // dim >= 0: shape[dim] was `have`, another had `got`
};

template <class Shapes>
Broadcast broadcast_of(const Shapes& shapes) {
  size_t rank = 0;
  for (const Shape* s : shapes) rank = std::max(rank, s->size());
  Broadcast b;
  b.shape.assign(rank, 1);
  for (size_t d = 0; d < rank; ++d) {
    for (const Shape* s : shapes) {
      const size_t lead = rank - s->size();
      if (d < lead || (*s)[d - lead] == 1) continue;
      const int64_t n = (*s)[d - lead];
      if (b.shape[d] != 1 && b.shape[d] != n) {
        b.dim = static_cast<int64_t>(d);
        b.have = b.shape[d];
        b.got = n;
        return b;
      }
      b.shape[d] = n;
    }
  }
  return b;
}

[[noreturn]] void throw_no_broadcast(std::string_view op, const std::vector<Type>& types,
                                     const Broadcast& b) {
  std::string list;
  for (size_t i = 0; i < types.size(); ++i) {
    if (i) list += i + 1 == types.size() ? " and " : ", ";
    list += types[i].str();
  }
  throw ShapeError(std::string(op) + ": shapes " + list + " do not broadcast (dimension " +
                   std::to_string(b.dim) + ": " + std::to_string(b.have) + " vs " +
                   std::to_string(b.got) +
                   "); each dimension must match or be 1 (align them with reshape or "
                   "expand_dims)");
}

}  // namespace

Shape broadcast_shapes(std::string_view op, const std::vector<Type>& types) {
  std::vector<const Shape*> shapes;
  for (const Type& t : types) shapes.push_back(&t.shape);
  Broadcast b = broadcast_of(shapes);
  if (b.dim >= 0) throw_no_broadcast(op, types, b);
  return std::move(b.shape);
}

Type operand_type(const TensorLike& x) {
  if (x.is_tensor()) return x.tensor().type();
  return Type{x.scalar().default_dtype(), {}};
}

namespace {
// The dtype a weak scalar of `kind` leaves when it meets tensors of dtype `t`.
DType with_weak_scalar(DType t, Scalar::Kind kind) {
  switch (kind) {
    case Scalar::Kind::Bool: return t;
    case Scalar::Kind::Int: return is_bool(t) ? DType::I32 : t;
    case Scalar::Kind::Float: return is_inexact(t) ? t : DType::F32;
    case Scalar::Kind::Complex: return is_complex(t) ? t : DType::C64;
  }
  return t;
}
}  // namespace

DType common_dtype(std::initializer_list<TensorLike> operands) {
  std::optional<DType> tensors;
  for (const TensorLike& x : operands)
    if (x.is_tensor())
      tensors = tensors ? promote_types(*tensors, x.tensor().dtype()) : x.tensor().dtype();
  if (!tensors) {
    // Only scalars: each takes its own default dtype, and those promote.
    DType d = operands.begin()->scalar().default_dtype();
    for (const TensorLike& x : operands) d = promote_types(d, x.scalar().default_dtype());
    return d;
  }
  DType d = *tensors;
  for (const TensorLike& x : operands)
    if (!x.is_tensor()) d = with_weak_scalar(d, x.scalar().kind());
  return d;
}

std::vector<Tensor> unify(std::string_view op, std::initializer_list<TensorLike> operands,
                          DType dtype, Loc loc) {
  static const Shape kScalar;
  std::vector<const Shape*> shapes;
  shapes.reserve(operands.size());
  for (const TensorLike& x : operands)
    shapes.push_back(x.is_tensor() ? &x.tensor().shape() : &kScalar);
  Broadcast b = broadcast_of(shapes);
  if (b.dim >= 0) {  // the message names every operand's type
    std::vector<Type> types;
    for (const TensorLike& x : operands) types.push_back(operand_type(x));
    throw_no_broadcast(op, types, b);
  }
  const Shape& shape = b.shape;
  check_shape(op, shape, dtype);  // operands that fit can broadcast to a shape that does not
  std::vector<Tensor> out;
  out.reserve(operands.size());
  for (const TensorLike& x : operands) out.push_back(to_tensor(op, x, dtype, shape, loc));
  return out;
}

Tensor to_tensor(std::string_view op, const TensorLike& x, DType dtype, const Shape& shape,
                 Loc loc) {
  if (x.is_tensor()) return expand_to(cast_to(x.tensor(), dtype, loc), shape, loc);
  return filled(op, x.scalar(), dtype, shape, loc);
}

int normalize_axis(std::string_view op, int axis, int rank, const Type& type) {
  if (axis < -rank || axis >= rank) {
    std::string valid = rank == 0 ? "a rank-0 tensor has no axes"
                                  : "use an axis in [" + std::to_string(-rank) + ", " +
                                        std::to_string(rank - 1) + "]";
    throw AxisError(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for " +
                    type.str() + " (rank " + std::to_string(rank) + "); " + valid);
  }
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> normalize_axes(std::string_view op, const Axes& axes, const Type& type) {
  int rank = type.rank();
  std::vector<int64_t> out;
  if (axes.all()) {
    for (int i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (int a : axes.list()) {
    int64_t n = normalize_axis(op, a, rank, type);
    if (std::find(out.begin(), out.end(), n) != out.end())
      throw AxisError(std::string(op) + ": axis " + std::to_string(n) + " appears twice in " +
                      list_str(axes.list()) + " for " + type.str() + "; list each axis once");
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kiln::frontend
