// OpenCL C spellings of the IR's scalar semantics (see scalar_ops.h).
#include "codegen/opencl/scalar_ops.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "ir/error.h"

// A switch over op kinds here either lists every case or has a default that throws, which
// the suites that run every row of ir/ops.def on every dtype reach: the differential suite
// on every device (tests/runtime/differential_test.cpp) and tests/codegen/opencl_ops_test.cpp.
#pragma GCC diagnostic error "-Wswitch"

namespace kiln::codegen::opencl {

namespace {

using ir::OpKind;

[[noreturn]] void unsupported(OpKind op, DType t) {
  throw UnsupportedError("opencl backend: " + std::string(ir::op_name(op)) + " on " +
                         std::string(dtype_name(t)) +
                         " has no OpenCL C spelling in codegen/opencl/scalar_ops.cpp (or the IR "
                         "verifier should have rejected it)");
}

std::string call(const std::string& f, const std::string& a) { return f + "(" + a + ")"; }
std::string call(const std::string& f, const std::string& a, const std::string& b) {
  return f + "(" + a + ", " + b + ")";
}

// The unsigned type of a signed integer compute type, for wrapping arithmetic.
std::string unsigned_type(DType t) {
  switch (t) {
    case DType::I8: return "uchar";
    case DType::I32: return "uint";
    case DType::I64: return "ulong";
    default: return compute_type(t);
  }
}

// Suffix of the integer helpers in the prelude.
std::string int_suffix(DType t) {
  switch (t) {
    case DType::I8: return "i8";
    case DType::U8: return "u8";
    case DType::I32: return "i32";
    default: return "i64";
  }
}

bool computes_in_float(DType t) { return t == DType::F16 || t == DType::BF16 || t == DType::F32; }

// Integer + - * modulo 2^n: narrow types through int (no overflow there), i32 and i64
// through their unsigned types, whose overflow is defined.
std::string wrap(DType t, const std::string& a, char op, const std::string& b) {
  std::string T = compute_type(t);
  if (t == DType::I8 || t == DType::U8) return "((" + T + ")(" + a + " " + op + " " + b + "))";
  std::string U = unsigned_type(t);
  return "((" + T + ")((" + U + ")" + a + " " + op + " (" + U + ")" + b + "))";
}

std::string float_one(DType t) {
  return float_literal(t == DType::F64 ? DType::F64 : DType::F32, 1);
}
std::string float_zero(DType t) {
  return float_literal(t == DType::F64 ? DType::F64 : DType::F32, 0);
}

std::string float_unary(OpKind op, DType in, const std::string& x) {
  const std::string one = float_one(in), zero = float_zero(in);
  switch (op) {
    case OpKind::Neg: return "(-" + x + ")";
    case OpKind::Sign:
      return "(isnan(" + x + ") ? " + x + " : (" + x + " > " + zero + " ? " + one + " : (" + x +
             " < " + zero + " ? -" + one + " : " + zero + ")))";
    case OpKind::Rsqrt: return "(" + one + " / sqrt(" + x + "))";
    case OpKind::Reciprocal: return "(" + one + " / " + x + ")";
    case OpKind::Sigmoid: return "(" + one + " / (" + one + " + exp(-" + x + ")))";
    case OpKind::IsNan: return "(isnan(" + x + ") != 0)";
    case OpKind::IsInf: return "(isinf(" + x + ") != 0)";
    case OpKind::Real:
    case OpKind::Conj: return x;
    case OpKind::Imag: return zero;
    case OpKind::Not: return "(" + x + " == " + zero + ")";
    default: break;
  }
  // The op table's C function (exp, erf, rint for round...), which OpenCL C has too.
  const ir::OpInfo& info = ir::op_info(op);
  if (info.math.empty() || !ir::op_accepts(op, in)) unsupported(op, in);
  return call(std::string(info.math), x);
}

std::string int_unary(OpKind op, DType in, const std::string& x) {
  const std::string T = compute_type(in);
  const bool sgn = is_signed_integer(in);
  switch (op) {
    case OpKind::Neg: return wrap(in, "0", '-', x);
    case OpKind::Abs:
      return sgn ? "(" + x + " < 0 ? " + wrap(in, "0", '-', x) + " : " + x + ")" : x;
    case OpKind::Sign:
      if (!sgn) return "((" + T + ")(" + x + " != 0))";
      return "((" + T + ")(" + x + " > 0 ? 1 : (" + x + " < 0 ? -1 : 0)))";
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round:
    case OpKind::Real:
    case OpKind::Conj: return x;
    case OpKind::Imag: return "((" + T + ")0)";
    case OpKind::Not: return in == DType::Bool ? "(!" + x + ")" : "(" + x + " == 0)";
    case OpKind::IsNan:
    case OpKind::IsInf: return "false";
    default: unsupported(op, in);
  }
}

std::string complex_unary(OpKind op, const std::string& x) {
  const std::string one = "(float2)(1.0f, 0.0f)";
  switch (op) {
    case OpKind::Neg: return "(-" + x + ")";
    case OpKind::Conj: return "((float2)(" + x + ".x, -" + x + ".y))";
    case OpKind::Real: return "(" + x + ".x)";
    case OpKind::Imag: return "(" + x + ".y)";
    case OpKind::Abs: return call("kiln_cabs", x);
    case OpKind::IsNan: return call("kiln_cnan", x);
    case OpKind::IsInf: return "(isinf(" + x + ".x) || isinf(" + x + ".y))";
    case OpKind::Exp: return call("kiln_cexp", x);
    case OpKind::Exp2: return "kiln_cexp(kiln_cmul(" + x + ", (float2)(M_LN2_F, 0.0f)))";
    case OpKind::Log: return call("kiln_clog", x);
    case OpKind::Log2: return "kiln_cdiv(kiln_clog(" + x + "), (float2)(M_LN2_F, 0.0f))";
    case OpKind::Log1p: return "kiln_clog(" + x + " + " + one + ")";
    case OpKind::Expm1: return "(kiln_cexp(" + x + ") - " + one + ")";
    case OpKind::Sqrt: return call("kiln_csqrt", x);
    case OpKind::Rsqrt: return "kiln_cdiv(" + one + ", kiln_csqrt(" + x + "))";
    case OpKind::Reciprocal: return "kiln_cdiv(" + one + ", " + x + ")";
    case OpKind::Sin: return call("kiln_csin", x);
    case OpKind::Cos: return call("kiln_ccos", x);
    case OpKind::Tan: return call("kiln_ctan", x);
    case OpKind::Tanh: return call("kiln_ctanh", x);
    case OpKind::Sigmoid: return "kiln_cdiv(" + one + ", " + one + " + kiln_cexp(-" + x + "))";
    default: unsupported(op, DType::C64);
  }
}

std::string float_binary(OpKind op, DType in, const std::string& a, const std::string& b) {
  switch (op) {
    case OpKind::Add: return "(" + a + " + " + b + ")";
    case OpKind::Sub: return "(" + a + " - " + b + ")";
    case OpKind::Mul: return "(" + a + " * " + b + ")";
    case OpKind::Div: return "(" + a + " / " + b + ")";
    case OpKind::Max:
      return "(isnan(" + a + ") ? " + a + " : (isnan(" + b + ") ? " + b + " : (" + a + " < " + b +
             " ? " + b + " : " + a + ")))";
    case OpKind::Min:
      return "(isnan(" + a + ") ? " + a + " : (isnan(" + b + ") ? " + b + " : (" + b + " < " + a +
             " ? " + b + " : " + a + ")))";
    case OpKind::Mod: return call(in == DType::F64 ? "kiln_fmod_f64" : "kiln_fmod_f32", a, b);
    case OpKind::Pow: return call("pow", a, b);
    case OpKind::Atan2: return call("atan2", a, b);
    case OpKind::Eq: return "(" + a + " == " + b + ")";
    case OpKind::Ne: return "(" + a + " != " + b + ")";
    case OpKind::Lt: return "(" + a + " < " + b + ")";
    case OpKind::Le: return "(" + a + " <= " + b + ")";
    case OpKind::Gt: return "(" + a + " > " + b + ")";
    case OpKind::Ge: return "(" + a + " >= " + b + ")";
    default: unsupported(op, in);
  }
}

std::string bool_binary(OpKind op, const std::string& a, const std::string& b) {
  switch (op) {
    case OpKind::Max:
    case OpKind::Or: return "(" + a + " || " + b + ")";
    case OpKind::Xor:
    case OpKind::Ne: return "(" + a + " != " + b + ")";
    case OpKind::Min:
    case OpKind::And: return "(" + a + " && " + b + ")";
    case OpKind::Eq: return "(" + a + " == " + b + ")";
    case OpKind::Lt: return "(!" + a + " && " + b + ")";
    case OpKind::Le: return "(!" + a + " || " + b + ")";
    case OpKind::Gt: return "(" + a + " && !" + b + ")";
    case OpKind::Ge: return "(" + a + " || !" + b + ")";
    default: unsupported(op, DType::Bool);
  }
}

std::string int_binary(OpKind op, DType in, const std::string& a, const std::string& b) {
  const std::string T = compute_type(in);
  switch (op) {
    case OpKind::Add: return wrap(in, a, '+', b);
    case OpKind::Sub: return wrap(in, a, '-', b);
    case OpKind::Mul: return wrap(in, a, '*', b);
    case OpKind::Div: return call("kiln_div_" + int_suffix(in), a, b);
    case OpKind::Mod: return call("kiln_mod_" + int_suffix(in), a, b);
    case OpKind::Pow: return "((" + T + ")kiln_ipow((long)" + a + ", (long)" + b + "))";
    case OpKind::Max: return "(" + a + " < " + b + " ? " + b + " : " + a + ")";
    case OpKind::Min: return "(" + b + " < " + a + " ? " + b + " : " + a + ")";
    case OpKind::Eq: return "(" + a + " == " + b + ")";
    case OpKind::Ne: return "(" + a + " != " + b + ")";
    case OpKind::Lt: return "(" + a + " < " + b + ")";
    case OpKind::Le: return "(" + a + " <= " + b + ")";
    case OpKind::Gt: return "(" + a + " > " + b + ")";
    case OpKind::Ge: return "(" + a + " >= " + b + ")";
    case OpKind::And: return "((" + T + ")(" + a + " & " + b + "))";
    case OpKind::Or: return "((" + T + ")(" + a + " | " + b + "))";
    case OpKind::Xor: return "((" + T + ")(" + a + " ^ " + b + "))";
    default: unsupported(op, in);
  }
}

std::string complex_binary(OpKind op, const std::string& a, const std::string& b) {
  switch (op) {
    case OpKind::Add: return "(" + a + " + " + b + ")";
    case OpKind::Sub: return "(" + a + " - " + b + ")";
    case OpKind::Mul: return call("kiln_cmul", a, b);
    case OpKind::Div: return call("kiln_cdiv", a, b);
    case OpKind::Pow: return call("kiln_cpow", a, b);
    case OpKind::Eq: return "(" + a + ".x == " + b + ".x && " + a + ".y == " + b + ".y)";
    case OpKind::Ne: return "(" + a + ".x != " + b + ".x || " + a + ".y != " + b + ".y)";
    default: unsupported(op, DType::C64);
  }
}

// A real value converted to float for a later rounding to f16 / bf16, rounded to odd
// where the conversion to float is inexact, so that the two roundings make one.
std::string to_float_for_narrow(DType from, const std::string& x) {
  if (computes_in_float(from)) return x;
  if (from == DType::F64) return call("kiln_f64_to_f32_odd", x);
  if (from == DType::Bool || from == DType::U8 || from == DType::I8) return "((float)" + x + ")";
  return "kiln_i64_to_f32_odd((long)" + x + ")";
}

std::string real_cast(DType from, DType to, const std::string& x) {
  if (from == to) return x;
  if (to == DType::Bool) {
    if (is_floating(from)) return "(" + x + " != " + float_zero(from) + ")";
    return "(" + x + " != 0)";
  }
  if (to == DType::F16 || to == DType::BF16) return round_to(to, to_float_for_narrow(from, x));
  if (is_floating(to)) {
    if (computes_in_float(from) && computes_in_float(to)) return x;
    return "((" + compute_type(to) + ")" + x + ")";
  }
  const std::string T = compute_type(to);
  // NaN -> 0 explicitly: NVIDIA's driver (580) gives LONG_MIN for convert_long_sat_rtz(NaN).
  if (is_floating(from))
    return "(isnan(" + x + ") ? (" + T + ")0 : convert_" + T + "_sat_rtz(" + x + "))";
  return "((" + T + ")" + x + ")";
}

std::string hex(double v, bool single) {
  if (std::isnan(v)) return single ? "NAN" : "((double)NAN)";
  if (std::isinf(v)) {
    std::string inf = single ? "INFINITY" : "((double)INFINITY)";
    return v < 0 ? "(-" + inf + ")" : inf;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  std::string s = buf;
  if (single) s += "f";
  return std::signbit(v) ? "(" + s + ")" : s;
}

}  // namespace

std::string compute_type(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::I8: return "char";
    case DType::U8: return "uchar";
    case DType::I32: return "int";
    case DType::I64: return "long";
    case DType::F16:
    case DType::BF16:
    case DType::F32: return "float";
    case DType::F64: return "double";
    case DType::C64: return "float2";
  }
  return "?";
}

std::string storage_type(DType t) {
  switch (t) {
    case DType::Bool: return "uchar";
    case DType::F16: return "half";
    case DType::BF16: return "ushort";
    default: return compute_type(t);
  }
}

std::string int_literal(DType t, int64_t v) {
  switch (t) {
    case DType::Bool: return v ? "true" : "false";
    case DType::I8: return "((char)" + std::to_string(v) + ")";
    case DType::U8: return "((uchar)" + std::to_string(v) + ")";
    case DType::I32:
      if (v == std::numeric_limits<int32_t>::min()) return "(-2147483647 - 1)";
      return v < 0 ? "(" + std::to_string(v) + ")" : std::to_string(v);
    default:
      if (v == std::numeric_limits<int64_t>::min()) return "(-9223372036854775807L - 1L)";
      if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max())
        return v < 0 ? "(" + std::to_string(v) + ")" : std::to_string(v);
      return v < 0 ? "(" + std::to_string(v) + "L)" : std::to_string(v) + "L";
  }
}

std::string float_literal(DType t, double v) {
  switch (t) {
    case DType::F64: return hex(v, false);
    case DType::F16: return hex(f16_to_float(float_to_f16(static_cast<float>(v))), true);
    case DType::BF16: return hex(bf16_to_float(float_to_bf16(static_cast<float>(v))), true);
    default: return hex(static_cast<float>(v), true);
  }
}

std::string const_literal(DType t, int64_t ival, double re, double im) {
  if (is_complex(t))
    return "((float2)(" + float_literal(DType::F32, re) + ", " + float_literal(DType::F32, im) +
           "))";
  if (is_floating(t)) return float_literal(t, re);
  return int_literal(t, ival);
}

std::string load_element(DType t, const std::string& buf, const std::string& index) {
  switch (t) {
    case DType::Bool: return "(" + buf + "[" + index + "] != 0)";
    case DType::F16: return "vload_half(" + index + ", " + buf + ")";
    case DType::BF16: return "kiln_bf16_to_f32(" + buf + "[" + index + "])";
    default: return buf + "[" + index + "]";
  }
}

std::string store_element(DType t, const std::string& buf, const std::string& index,
                          const std::string& value) {
  switch (t) {
    case DType::Bool: return buf + "[" + index + "] = (uchar)" + value;
    case DType::F16: return "vstore_half_rte(" + value + ", " + index + ", " + buf + ")";
    case DType::BF16: return buf + "[" + index + "] = kiln_f32_to_bf16(" + value + ")";
    default: return buf + "[" + index + "] = " + value;
  }
}

std::string round_to(DType t, const std::string& x) {
  if (t == DType::F16) return call("kiln_round_f16", x);
  if (t == DType::BF16) return call("kiln_round_bf16", x);
  return x;
}

std::string unary_op(OpKind op, DType in, DType out, const std::string& x) {
  if (is_complex(in)) return complex_unary(op, x);
  if (is_floating(in)) return round_to(out, float_unary(op, in, x));
  return int_unary(op, in, x);
}

std::string binary_op(OpKind op, DType in, DType out, const std::string& a, const std::string& b) {
  if (op == OpKind::Complex)
    return "((float2)(" + real_cast(in, DType::F32, a) + ", " + real_cast(in, DType::F32, b) + "))";
  if (is_complex(in)) return complex_binary(op, a, b);
  if (is_floating(in)) return round_to(out, float_binary(op, in, a, b));
  if (in == DType::Bool) return bool_binary(op, a, b);
  return int_binary(op, in, a, b);
}

std::string cast_op(DType from, DType to, const std::string& x) {
  if (from == to) return x;
  if (is_complex(from)) {
    if (to == DType::Bool) return "(" + x + ".x != 0.0f || " + x + ".y != 0.0f)";
    return real_cast(DType::F32, to, x + ".x");
  }
  if (is_complex(to)) return "((float2)(" + real_cast(from, DType::F32, x) + ", 0.0f))";
  return real_cast(from, to, x);
}

std::string reduce_identity(ReduceOp op, DType acc) {
  const double inf = std::numeric_limits<double>::infinity();
  auto lowest = [&](bool highest) -> std::string {
    switch (acc) {
      case DType::Bool: return highest ? "true" : "false";
      case DType::I8: return int_literal(acc, highest ? 127 : -128);
      case DType::U8: return int_literal(acc, highest ? 255 : 0);
      case DType::I32:
        return int_literal(acc, highest ? std::numeric_limits<int32_t>::max()
                                        : std::numeric_limits<int32_t>::min());
      default:
        return int_literal(acc, highest ? std::numeric_limits<int64_t>::max()
                                        : std::numeric_limits<int64_t>::min());
    }
  };
  switch (op) {
    case ReduceOp::Sum: return const_literal(acc, 0, 0, 0);
    case ReduceOp::Prod: return const_literal(acc, 1, 1, 0);
    // Orders exist for real dtypes only: the op table refuses c64 for these.
    case ReduceOp::Max:
    case ReduceOp::ArgMax:
      if (is_floating(acc)) return float_literal(acc, -inf);
      return lowest(false);
    case ReduceOp::Min:
    case ReduceOp::ArgMin:
      if (is_floating(acc)) return float_literal(acc, inf);
      return lowest(true);
  }
  return "0";
}

std::string reduce_combine(ReduceOp op, DType acc, const std::string& a, const std::string& b) {
  switch (op) {
    case ReduceOp::Sum: return binary_op(OpKind::Add, acc, acc, a, b);
    case ReduceOp::Prod: return binary_op(OpKind::Mul, acc, acc, a, b);
    case ReduceOp::Max: return binary_op(OpKind::Max, acc, acc, a, b);
    case ReduceOp::Min: return binary_op(OpKind::Min, acc, acc, a, b);
    default: throw CompileError("opencl backend: reduce_combine of an arg reduction");
  }
}

std::string arg_takes(ReduceOp op, DType t, const std::string& v, const std::string& p,
                      const std::string& bv, const std::string& bp) {
  // better(x, y): x replaces y outright.
  auto better = [&](const std::string& x, const std::string& y) -> std::string {
    const bool is_max = op == ReduceOp::ArgMax;
    if (is_floating(t)) {
      return is_max ? "(!isnan(" + y + ") && (isnan(" + x + ") || " + y + " < " + x + "))"
                    : "(!isnan(" + x + ") && (isnan(" + y + ") || " + x + " < " + y + "))";
    }
    return is_max ? "(" + y + " < " + x + ")" : "(" + x + " < " + y + ")";
  };
  return "(" + better(v, bv) + " || (!" + better(bv, v) + " && " + p + " < " + bp + "))";
}

bool vector_storage(DType t) {
  switch (t) {
    case DType::BF16:
    case DType::C64: return false;
    default: return true;
  }
}

std::string vector_type(DType t, int width) {
  if (t == DType::F16) return "float" + std::to_string(width);
  return storage_type(t) + std::to_string(width);
}

std::string vector_load(DType t, int width, const std::string& buf, const std::string& index,
                        bool aligned) {
  const std::string w = std::to_string(width);
  if (t == DType::F16) return "vload_half" + w + "(0, " + buf + " + " + index + ")";
  if (aligned)
    return "((__global const " + storage_type(t) + w + "*)" + buf + ")[(" + index + ") / " + w +
           "]";
  return "vload" + w + "(0, " + buf + " + " + index + ")";
}

std::string vector_lane(DType t, const std::string& vec, int lane) {
  std::string c = vec + ".s" + std::to_string(lane);
  if (t == DType::Bool) return "(" + c + " != 0)";
  return c;
}

std::string vector_store(DType t, int width, const std::string& buf, const std::string& index,
                         const std::vector<std::string>& lanes, bool aligned) {
  const std::string w = std::to_string(width);
  std::string vec = "(" + vector_type(t, width) + ")(";
  for (size_t i = 0; i < lanes.size(); ++i) {
    if (i) vec += ", ";
    vec += t == DType::Bool ? "(uchar)" + lanes[i] : lanes[i];
  }
  vec += ")";
  if (t == DType::F16)
    return "vstore_half" + w + "_rte(" + vec + ", 0, " + buf + " + " + index + ")";
  if (aligned)
    return "((__global " + storage_type(t) + w + "*)" + buf + ")[(" + index + ") / " + w +
           "] = " + vec;
  return "vstore" + w + "(" + vec + ", 0, " + buf + " + " + index + ")";
}

}  // namespace kiln::codegen::opencl
