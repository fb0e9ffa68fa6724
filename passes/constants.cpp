// Splat detection and construction over the host buffers of constants.
#include "passes/constants.h"

#include <cmath>
#include <cstring>
#include <memory>

namespace kiln::passes {

const ir::Node* constant_source(const ir::Node& value) {
  const ir::Node* n = &value;
  while (n->op == ir::OpKind::Reshape || n->op == ir::OpKind::Broadcast) {
    if (n->operands.size() != 1) return nullptr;
    n = n->operands[0].get();
  }
  return n->op == ir::OpKind::Constant && n->buffer ? n : nullptr;
}

bool SplatValue::is_zero() const { return is_floating(dtype) ? real == 0.0 : integer == 0; }

bool SplatValue::is_positive_zero() const {
  return is_floating(dtype) ? real == 0.0 && !std::signbit(real) : integer == 0;
}

bool SplatValue::is_negative_zero() const {
  return is_floating(dtype) ? real == 0.0 && std::signbit(real) : integer == 0;
}

bool SplatValue::is_one() const { return is_floating(dtype) ? real == 1.0 : integer == 1; }

bool SplatValue::is_floating_two() const { return is_floating(dtype) && real == 2.0; }

bool SplatValue::is_minus_one() const {
  if (is_floating(dtype)) return real == -1.0;
  return is_signed_integer(dtype) && integer == -1;
}

bool SplatValue::is_all_ones() const {
  switch (dtype) {
    case DType::Bool: return integer == 1;
    case DType::U8: return integer == 255;
    case DType::I8:
    case DType::I32:
    case DType::I64: return integer == -1;
    default: return false;
  }
}

namespace {

template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

SplatValue element(DType t, const std::byte* p) {
  SplatValue v{t, 0, 0.0};
  switch (t) {
    case DType::Bool: v.integer = load<uint8_t>(p) != 0; break;
    case DType::I8: v.integer = load<int8_t>(p); break;
    case DType::U8: v.integer = load<uint8_t>(p); break;
    case DType::I32: v.integer = load<int32_t>(p); break;
    case DType::I64: v.integer = load<int64_t>(p); break;
    case DType::F16: v.real = f16_to_float(load<uint16_t>(p)); break;
    case DType::BF16: v.real = bf16_to_float(load<uint16_t>(p)); break;
    case DType::F32: v.real = load<float>(p); break;
    case DType::F64: v.real = load<double>(p); break;
    case DType::C64: break;
  }
  return v;
}

template <class T>
void store(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

void store_element(DType t, std::byte* p, double v) {
  switch (t) {
    case DType::Bool: store<uint8_t>(p, v != 0.0); break;
    case DType::I8: store(p, static_cast<int8_t>(v)); break;
    case DType::U8: store(p, static_cast<uint8_t>(v)); break;
    case DType::I32: store(p, static_cast<int32_t>(v)); break;
    case DType::I64: store(p, static_cast<int64_t>(v)); break;
    case DType::F16: store(p, float_to_f16(static_cast<float>(v))); break;
    case DType::BF16: store(p, float_to_bf16(static_cast<float>(v))); break;
    case DType::F32: store(p, static_cast<float>(v)); break;
    case DType::F64: store(p, v); break;
    case DType::C64: store(p, complex64(static_cast<float>(v), 0.0f)); break;
  }
}

}  // namespace

std::optional<SplatValue> splat_value(const ir::Node& value) {
  const ir::Node* c = constant_source(value);
  if (!c || is_complex(c->type.dtype)) return std::nullopt;
  const Buffer& buf = *c->buffer;
  int64_t n = buf.type().numel();
  if (n == 0) return std::nullopt;
  size_t size = dtype_size(buf.dtype());
  const std::byte* first = buf.data();
  for (int64_t i = 1; i < n; ++i)
    if (std::memcmp(first, first + i * size, size) != 0) return std::nullopt;
  return element(buf.dtype(), first);
}

ir::NodePtr make_splat(const Type& type, double v) {
  Type scalar{type.dtype, Shape(type.shape.size(), 1)};
  auto buf = std::make_shared<Buffer>(scalar);
  store_element(type.dtype, buf->data(), v);
  ir::NodePtr c = ir::make_constant(std::move(buf));
  if (scalar == type) return c;
  return ir::make_node(ir::OpKind::Broadcast, {c}, {}, type);
}

}  // namespace kiln::passes
