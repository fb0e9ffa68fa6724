// The Tensor handle, weak scalars, and reading values back to the host (item, to_vector).
#include <cstring>
#include <sstream>

#include "frontend/builder.h"
#include "frontend/evaluate.h"

namespace kiln {

Tensor::Tensor(ir::NodePtr node) : node_(std::move(node)) {
  if (!node_) throw Error("Tensor: cannot wrap a null node; build tensors with kiln's ops");
}

Tensor::~Tensor() {
  // Only the last handle can start the release of a long chain; release_chain looks at the
  // node under the lock of live nodes, which another thread may have just evaluated.
  if (node_.use_count() == 1) frontend::release_chain(std::move(node_));
}

bool Tensor::is_evaluated() const { return frontend::holds_value(*node_); }

int64_t Tensor::shape(int axis) const {
  return shape()[frontend::normalize_axis("shape", axis, ndim(), type())];
}

namespace {
// The C++ element type that reads a dtype, for messages.
const char* host_type_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::I8: return "int8_t";
    case DType::U8: return "uint8_t";
    case DType::I32: return "int32_t";
    case DType::I64: return "int64_t";
    case DType::F16:
    case DType::BF16:
    case DType::F32: return "float";
    case DType::F64: return "double";
    case DType::C64: return "complex64";
  }
  return "?";
}

bool reads_as(DType stored, DType requested) {
  return stored == requested ||
         (requested == DType::F32 && (stored == DType::F16 || stored == DType::BF16));
}
}  // namespace

BufferPtr Tensor::read_for_host(const char* what, DType requested, bool need_one, Loc loc) const {
  if (!reads_as(dtype(), requested))
    throw DTypeError(std::string(what) + "<" + host_type_name(requested) + ">: the tensor is " +
                     type().str() + "; read it as " + what + "<" + host_type_name(dtype()) +
                     ">(), or cast it to " + std::string(dtype_name(requested)) + " first");
  if (need_one && size() != 1)
    throw ShapeError(std::string(what) + ": the tensor " + type().str() + " has " +
                     std::to_string(size()) +
                     " elements; item() reads exactly one (reduce or slice it first, or use "
                     "to_vector)");
  runtime::record_host_sync(loc, what);
  frontend::evaluate({*this}, current_device());
  return node_->buffer;
}

namespace detail {
void copy_to_host(const Buffer& buffer, DType requested, void* out, int64_t n) {
  if (n <= 0) return;  // an empty vector's data() may be null, and memcpy must not see it
  DType stored = buffer.dtype();
  if (stored == requested) {
    std::memcpy(out, buffer.data(), static_cast<size_t>(n) * dtype_size(stored));
    return;
  }
  // f16 / bf16 widen to float.
  const auto* src = buffer.as<uint16_t>();
  auto* dst = static_cast<float*>(out);
  for (int64_t i = 0; i < n; ++i)
    dst[i] = stored == DType::F16 ? f16_to_float(src[i]) : bf16_to_float(src[i]);
}
}  // namespace detail

DType Scalar::default_dtype() const {
  switch (kind_) {
    case Kind::Bool: return DType::Bool;
    case Kind::Int: return DType::I32;
    case Kind::Float: return DType::F32;
    case Kind::Complex: return DType::C64;
  }
  return DType::F32;
}

std::string Scalar::str() const {
  std::ostringstream os;
  switch (kind_) {
    case Kind::Bool: os << (int_ ? "true" : "false"); break;
    case Kind::Int: os << int_; break;
    case Kind::Float: os << float_; break;
    case Kind::Complex: os << "(" << float_ << (imag_ < 0 ? "" : "+") << imag_ << "j)"; break;
  }
  return os.str();
}

}  // namespace kiln
