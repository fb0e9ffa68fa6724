// Saving and loading: arrays as NumPy .npy files and safetensors files, datasets' IDX
// files (read only), and lazy graphs as IR text files (.kir) that kiln::load_ir turns back
// into a callable. Every reader checks the whole file before trusting it (a truncated or
// malformed file is an IOError naming the file and what is wrong); every writer writes a
// temporary file and renames it, so a failed write leaves no half-written file behind. Included at
// the end of <kiln/kiln.h>. Tests: tests/tools/.
#pragma once

#include <kiln/kiln.h>

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "ir/node.h"

namespace kiln {

// ---------------------------------------------------------------------------------------
// NumPy .npy (format versions 1.0 to 3.0). dtypes: bool, i8, u8, i32, i64, f16, f32, f64
// and c64 (NumPy's complex64). NumPy has no bfloat16: writing bf16 throws DTypeError (cast
// to f32 first, or use safetensors). Reading also accepts big-endian and Fortran-order
// files (converted to kiln's little-endian row-major layout); other NumPy dtypes throw
// DTypeError naming them.

// Reads an .npy file into a new host buffer.
BufferPtr read_npy(const std::string& path);
// Writes a buffer as an .npy file (version 1.0, or 2.0 for very long headers).
void write_npy(const std::string& path, const Buffer& buffer);
// The .npy bytes of a buffer, and a buffer from .npy bytes (`what` names the source in
// messages).
std::string encode_npy(const Buffer& buffer);
BufferPtr decode_npy(std::span<const std::byte> bytes, const std::string& what);
// An .npy file as a constant tensor.
Tensor load_npy(const std::string& path, Loc loc = Loc::current());
// Host sync: evaluates x and writes it as an .npy file.
void save_npy(const std::string& path, const Tensor& x, Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// safetensors: an 8-byte little-endian header size, a JSON header naming each tensor's
// dtype, shape and byte range, then the data. dtypes BOOL, U8, I8, I32, I64, F16, BF16,
// F32, F64 and C64 (complex64, which newer safetensors versions know) map to kiln's; files
// with other dtypes (I16, U32, F8_*...) open, and reading such a tensor throws DTypeError.

// A safetensors file opened by memory-mapping it: the header is parsed and checked (byte
// ranges inside the file, matching their shapes, without overlaps or gaps); the tensors'
// bytes are read from the map only when asked for. Copies share the mapping.
class SafetensorsFile {
 public:
  struct Entry {
    std::string name;
    std::string dtype_name;  // as in the file: "F32", "BF16", ...
    DType dtype = DType::F32;
    bool supported = true;  // whether dtype_name has a kiln dtype
    Shape shape;
    std::span<const std::byte> bytes;  // little-endian, row-major, inside the map
  };

  static SafetensorsFile open(const std::string& path);

  const std::string& path() const;
  // In the order of their data in the file.
  const std::vector<Entry>& entries() const;
  // nullptr when there is no tensor called `name`.
  const Entry* find(std::string_view name) const;
  // The header's "__metadata__" (string to string).
  const std::map<std::string, std::string>& metadata() const;
  // A copy of one tensor's data in a new host buffer; IOError for an unknown name,
  // DTypeError for a dtype kiln lacks.
  BufferPtr buffer(std::string_view name) const;

 private:
  struct State;
  std::shared_ptr<const State> state_;
};

// Every tensor of a safetensors file, by name.
std::map<std::string, BufferPtr> read_safetensors(const std::string& path);
// Writes named buffers (data in the given order) and optional metadata.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, BufferPtr>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// Every tensor of a safetensors file as a constant tensor, by name.
std::map<std::string, Tensor> load_safetensors(const std::string& path, Loc loc = Loc::current());
// Host sync: evaluates the tensors (in one graph) and writes them.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// IDX files (MNIST, Fashion-MNIST): uint8, int8, int32, float32 and float64 arrays, plain
// or gzip-compressed (read through zlib). An int16 file throws DTypeError; a truncated file
// or gzip stream, an unknown type code or bytes after the data throw IOError naming the
// file.

BufferPtr read_idx(const std::string& path);
// The array of IDX bytes (uncompressed; `what` names the source in messages).
BufferPtr decode_idx(std::span<const std::byte> bytes, const std::string& what);
// An IDX file as a constant tensor.
Tensor load_idx(const std::string& path, Loc loc = Loc::current());

// ---------------------------------------------------------------------------------------
// IR files. A .kir file is the IR text form (docs/ir.md) of a function whose parameters are
// the inputs named when saving. Constants of at most SaveIrOptions::inline_limit elements
// are written inline; larger ones become parameters whose values live in a side file
// (<path>.data, safetensors, one tensor per parameter name), named by a `// data:` line at
// the top of the .kir file. load_ir binds those parameters again, so the callable takes
// only the real inputs.

struct SaveIrOptions {
  // The graph's inputs, in signature order: each tensor becomes a parameter with that name
  // (an identifier) and its history is not saved. Without inputs the graph computes the
  // outputs from constants alone.
  std::vector<std::pair<std::string, Tensor>> inputs;
  std::string function_name = "main";
  // Constants with more elements than this go to the side file.
  int64_t inline_limit = 16;
};

// Writes the graph computing `outputs` to `path` (and its side file when it has large
// constants). Does not sync: unevaluated ops are saved as ops.
void save_ir(const std::string& path, const std::vector<Tensor>& outputs,
             const SaveIrOptions& options = {});

// A graph read from an IR file: call it with tensors for its inputs to get lazy tensors for
// its results.
class IrFunction {
 public:
  IrFunction(ir::Graph graph, std::vector<BufferPtr> bound);

  // The graph as read, parameters included. bound()[i] is the value of parameter i when it
  // comes from the side file, else null (an input).
  const ir::Graph& graph() const { return graph_; }
  const std::vector<BufferPtr>& bound() const { return bound_; }
  // The graph with every bound parameter replaced by a constant holding its value: what
  // ahead-of-time compilation embeds.
  ir::Graph graph_with_constants() const;

  // The inputs (unbound parameters) in order, with their names and types.
  const std::vector<ir::NodePtr>& inputs() const { return inputs_; }

  // Builds the graph's nodes over `args` (one per input, of its exact type; else
  // ShapeError or DTypeError naming the input) and returns the results. Nothing runs.
  std::vector<Tensor> operator()(const std::vector<Tensor>& args, Loc loc = Loc::current()) const;

 private:
  ir::Graph graph_;
  std::vector<BufferPtr> bound_;
  std::vector<ir::NodePtr> inputs_;
};

// The function save_ir would write, kept in memory: the inputs are its parameters, and the
// constants above inline_limit are parameters bound to their values. Does not sync.
IrFunction make_function(const std::vector<Tensor>& outputs, const SaveIrOptions& options = {});

// Reads a .kir file (and the side file its `// data:` line names). Malformed text throws
// ParseError with the line and column (the message also names the file); a missing or
// malformed side file, or one whose tensors do not match the parameters, throws IOError.
IrFunction load_ir(const std::string& path);
// The same from text; `dir` is where a `// data:` file is looked for.
IrFunction load_ir_text(std::string_view text, const std::string& dir = ".");

// What a command-line tool prints for an error from load_ir(path) or what followed:
// "PATH:LINE:COLUMN: error: MESSAGE" for a ParseError, "error: MESSAGE" otherwise.
std::string describe_error(const std::exception& e, const std::string& path);

}  // namespace kiln
