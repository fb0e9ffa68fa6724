// The error hierarchy every kiln layer throws. Each message names the op, the shapes or
// dtypes involved, and what the user can do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace kiln {

// Base of every error kiln throws on bad input or an unavailable resource.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Operands whose shapes do not fit the op (broadcast, reshape, matmul, concat...).
class ShapeError : public Error {
 public:
  using Error::Error;
};

// An axis or index outside the valid range.
class AxisError : public Error {
 public:
  using Error::Error;
};

// Buffers handed to a graph that do not match its parameters (count, dtype, shape, or a
// missing buffer); thrown by ir::check_inputs (ir/inputs.h) before anything runs.
class InputError : public Error {
 public:
  using Error::Error;
};

// A dtype the op does not accept, or a cast that is not allowed.
class DTypeError : public Error {
 public:
  using Error::Error;
};

// A graph that breaks an IR invariant (reported by the verifier).
class VerifyError : public Error {
 public:
  using Error::Error;
};

// Malformed IR text; the message starts with "line:column:".
class ParseError : public Error {
 public:
  ParseError(int line, int column, const std::string& what)
      : Error(std::to_string(line) + ":" + std::to_string(column) + ": " + what),
        line_(line),
        column_(column) {}
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_;
  int column_;
};

// A host sync that strict mode forbids; the message names the call site.
class SyncError : public Error {
 public:
  using Error::Error;
};

// A kernel that failed to compile (the build log is in the message).
class CompileError : public Error {
 public:
  using Error::Error;
};

// A device that is absent, out of memory, or lacks a feature.
class DeviceError : public Error {
 public:
  using Error::Error;
};

// A file that cannot be read or written, or is malformed.
class IOError : public Error {
 public:
  using Error::Error;
};

// An op or feature that a backend does not implement.
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

}  // namespace kiln
