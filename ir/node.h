// Buffer, Node and attributes: the vertices of kiln's lazy graph.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ir/op.h"
#include "ir/shape.h"

namespace kiln {

// Contents of a buffer that are still only in a device's memory (a result that a device
// computed and kept): the device says how to read them back. Devices subclass it.
class DeviceContents {
 public:
  virtual ~DeviceContents() = default;
  // Copies the contents (`bytes` of them) to `dst`, after everything the device was asked
  // to do before; throws DeviceError when the device fails.
  virtual void read(std::byte* dst, size_t bytes) const = 0;
};

// A materialized array: host memory (ir/host_memory.h), row-major contiguous, 64-byte
// aligned, zeroed on creation unless asked not to be. Constants hold their data in one, and
// so does every evaluated node. A device's result may live on the device instead
// (DeviceContents): its host memory is taken and filled on the first access to its data,
// once, so that values that only feed later graphs on that device never cross to the host.
class Buffer {
 public:
  enum class Init : uint8_t { Zero, Uninitialized };  // Uninitialized: the writer fills it all
  explicit Buffer(Type type, Init init = Init::Zero);
  // A buffer whose contents are on a device until the host reads them.
  Buffer(Type type, std::shared_ptr<const DeviceContents> contents);
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  const Type& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  size_t nbytes() const { return type_.nbytes(); }
  std::byte* data() { return reinterpret_cast<std::byte*>(host()); }
  const std::byte* data() const { return reinterpret_cast<const std::byte*>(host()); }
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(host());
  }
  template <class T>
  const T* as() const {
    return reinterpret_cast<const T*>(host());
  }

  // The device copy this buffer was made from (null for a host buffer). It stays after the
  // host reads the contents, so the device can use it again without an upload.
  const std::shared_ptr<const DeviceContents>& device_contents() const { return device_; }
  // Whether the contents are in host memory (always, for a buffer made on the host).
  bool on_host() const;

 private:
  uint8_t* host() const {
    if (device_) [[unlikely]]
      std::call_once(fetched_, [this] { fetch(); });
    return block_.get();
  }
  void fetch() const;

  Type type_;
  mutable std::shared_ptr<uint8_t> block_;  // from HostMemoryPool, back to it when released
  std::shared_ptr<const DeviceContents> device_;
  mutable std::once_flag fetched_;
  mutable std::atomic<bool> fetched_flag_ = false;  // for on_host(), set after the fetch
};

using BufferPtr = std::shared_ptr<Buffer>;

// Element i of `b` as a double: bools as their stored byte, 16-bit floats decoded, c64 by its real
// part (or its imaginary part with `imag`). For tests, summaries and printing, not kernels.
double element_as_double(const Buffer& b, int64_t i, bool imag = false);
// Stores `v` as element i of `b`, converted as static_cast does (bools as v != 0, 16-bit
// floats rounded to nearest, c64 as (v, 0)). The writer beside element_as_double, for tests
// and tools that build buffers from numbers.
void set_element_from_double(Buffer& b, int64_t i, double v);

namespace ir {

using AttrValue = std::variant<int64_t, double, bool, std::vector<int64_t>, std::string>;

class Node;
using NodePtr = std::shared_ptr<Node>;

// One operation. Attributes are stored in the order of the op table's attribute specs.
class Node {
 public:
  Node(OpKind op, std::vector<NodePtr> operands, std::vector<AttrValue> attrs, Type type,
       std::source_location loc = {});
  // Releases the operand chain iteratively: a graph of a million nodes must not overflow
  // the stack when its last handle goes away.
  ~Node();
  Node(const Node&) = default;
  Node& operator=(const Node&) = default;

  OpKind op;
  std::vector<NodePtr> operands;
  std::vector<AttrValue> attrs;
  Type type;
  std::source_location loc;  // where the frontend call was made; empty when parsed
  std::string name;          // parameters only: the name printed in the signature
  BufferPtr buffer;          // constants: their data; evaluated nodes: their value

  const OpInfo& info() const { return op_info(op); }
  // Typed attribute access by name; throws VerifyError when absent or of another kind.
  int64_t attr_i64(std::string_view name) const;
  double attr_f64(std::string_view name) const;
  bool attr_bool(std::string_view name) const;
  const std::vector<int64_t>& attr_i64s(std::string_view name) const;
  const std::string& attr_str(std::string_view name) const;
  // The operands whose values the node reads: all of them, except for an
  // optimization_barrier, which reads its first and is only ordered after the others.
  std::span<const NodePtr> read_operands() const {
    return {operands.data(), op == OpKind::OptimizationBarrier ? 1 : operands.size()};
  }

 private:
  const AttrValue& attr(std::string_view name) const;
};

// Makes a node; the shorthand every producer of IR uses.
NodePtr make_node(OpKind op, std::vector<NodePtr> operands, std::vector<AttrValue> attrs, Type type,
                  std::source_location loc = {});

// A constant node holding `buffer` (which it shares, not copies).
NodePtr make_constant(BufferPtr buffer, std::source_location loc = {});

}  // namespace ir
}  // namespace kiln
