// Buffer allocation and Node attribute access.
#include "ir/node.h"

#include <cstdlib>
#include <cstring>

#include "ir/error.h"
#include "ir/host_memory.h"

namespace kiln {

Buffer::Buffer(Type type, Init init) : type_(std::move(type)) {
  const size_t bytes = type_.nbytes();
  try {
    block_ = HostMemoryPool::global().take(bytes);
  } catch (const DeviceError& e) {
    throw DeviceError("out of host memory for a value of " + type_.str() + ": " + e.what());
  }
  if (init == Init::Zero) std::memset(block_.get(), 0, bytes);
}

Buffer::Buffer(Type type, std::shared_ptr<const DeviceContents> contents)
    : type_(std::move(type)), device_(std::move(contents)) {
  if (!device_) throw Error("Buffer: device contents are null");
}

void Buffer::fetch() const {
  std::shared_ptr<uint8_t> block;
  try {
    block = HostMemoryPool::global().take(nbytes());
  } catch (const DeviceError& e) {
    throw DeviceError("out of host memory for a value of " + type_.str() + ": " + e.what());
  }
  device_->read(reinterpret_cast<std::byte*>(block.get()), nbytes());
  block_ = std::move(block);
  fetched_flag_.store(true, std::memory_order_release);
}

bool Buffer::on_host() const { return !device_ || fetched_flag_.load(std::memory_order_acquire); }

double element_as_double(const Buffer& b, int64_t i, bool imag) {
  switch (b.dtype()) {
    case DType::Bool:  // the stored byte: 0 or 1 in a well-formed buffer
    case DType::U8: return b.as<uint8_t>()[i];
    case DType::I8: return b.as<int8_t>()[i];
    case DType::I32: return b.as<int32_t>()[i];
    case DType::I64: return static_cast<double>(b.as<int64_t>()[i]);
    case DType::F16: return f16_to_float(b.as<uint16_t>()[i]);
    case DType::BF16: return bf16_to_float(b.as<uint16_t>()[i]);
    case DType::F32: return b.as<float>()[i];
    case DType::F64: return b.as<double>()[i];
    case DType::C64: return imag ? b.as<complex64>()[i].imag() : b.as<complex64>()[i].real();
  }
  return 0;
}

void set_element_from_double(Buffer& b, int64_t i, double v) {
  switch (b.dtype()) {
    case DType::Bool: b.as<uint8_t>()[i] = v != 0; break;
    case DType::I8: b.as<int8_t>()[i] = static_cast<int8_t>(v); break;
    case DType::U8: b.as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
    case DType::I32: b.as<int32_t>()[i] = static_cast<int32_t>(v); break;
    case DType::I64: b.as<int64_t>()[i] = static_cast<int64_t>(v); break;
    case DType::F16: b.as<uint16_t>()[i] = float_to_f16(static_cast<float>(v)); break;
    case DType::BF16: b.as<uint16_t>()[i] = float_to_bf16(static_cast<float>(v)); break;
    case DType::F32: b.as<float>()[i] = static_cast<float>(v); break;
    case DType::F64: b.as<double>()[i] = v; break;
    case DType::C64: b.as<complex64>()[i] = complex64(static_cast<float>(v), 0.0f); break;
  }
}

namespace ir {

Node::Node(OpKind op, std::vector<NodePtr> operands, std::vector<AttrValue> attrs, Type type,
           std::source_location loc)
    : op(op),
      operands(std::move(operands)),
      attrs(std::move(attrs)),
      type(std::move(type)),
      loc(loc) {}

Node::~Node() {
  std::vector<NodePtr> pending = std::move(operands);
  while (!pending.empty()) {
    NodePtr node = std::move(pending.back());
    pending.pop_back();
    // Only a node this loop holds the last reference to would be destroyed here; take its
    // operands first so its own destructor has nothing left to recurse into.
    if (node && node.use_count() == 1)
      for (NodePtr& operand : node->operands) pending.push_back(std::move(operand));
  }
}

const AttrValue& Node::attr(std::string_view name) const {
  const auto& specs = info().attrs;
  for (size_t i = 0; i < specs.size() && i < attrs.size(); ++i)
    if (specs[i].name == name) return attrs[i];
  throw VerifyError(std::string(info().text) + ": no attribute '" + std::string(name) + "'");
}

namespace {
template <class T>
const T& get_attr(const AttrValue& v, std::string_view op, std::string_view name) {
  if (const T* p = std::get_if<T>(&v)) return *p;
  throw VerifyError(std::string(op) + ": attribute '" + std::string(name) + "' has the wrong kind");
}
}  // namespace

int64_t Node::attr_i64(std::string_view n) const {
  return get_attr<int64_t>(attr(n), info().text, n);
}
double Node::attr_f64(std::string_view n) const {
  return get_attr<double>(attr(n), info().text, n);
}
bool Node::attr_bool(std::string_view n) const { return get_attr<bool>(attr(n), info().text, n); }
const std::vector<int64_t>& Node::attr_i64s(std::string_view n) const {
  return get_attr<std::vector<int64_t>>(attr(n), info().text, n);
}
const std::string& Node::attr_str(std::string_view n) const {
  return get_attr<std::string>(attr(n), info().text, n);
}

NodePtr make_node(OpKind op, std::vector<NodePtr> operands, std::vector<AttrValue> attrs, Type type,
                  std::source_location loc) {
  return std::make_shared<Node>(op, std::move(operands), std::move(attrs), std::move(type), loc);
}

NodePtr make_constant(BufferPtr buffer, std::source_location loc) {
  auto node = make_node(OpKind::Constant, {}, {}, buffer->type(), loc);
  node->buffer = std::move(buffer);
  return node;
}

}  // namespace ir
}  // namespace kiln
