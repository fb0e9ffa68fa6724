// Element types of kiln arrays, their sizes and names, the promotion lattice, and the
// conversions between the 16-bit floats and float.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln {

enum class DType : uint8_t { Bool, I8, U8, I32, I64, F16, BF16, F32, F64, C64 };

inline constexpr DType kAllDTypes[] = {DType::Bool, DType::I8,  DType::U8,   DType::I32,
                                       DType::I64,  DType::F16, DType::BF16, DType::F32,
                                       DType::F64,  DType::C64};

// Size of one element in bytes.
size_t dtype_size(DType t);
// The IR spelling: "bool", "i8", "u8", "i32", "i64", "f16", "bf16", "f32", "f64", "c64".
std::string_view dtype_name(DType t);
// Inverse of dtype_name; nullopt for an unknown spelling.
std::optional<DType> dtype_from_name(std::string_view name);

bool is_bool(DType t);
bool is_integer(DType t);  // i8, u8, i32, i64 (not bool)
bool is_signed_integer(DType t);
bool is_floating(DType t);  // f16, bf16, f32, f64
bool is_complex(DType t);   // c64
bool is_inexact(DType t);   // floating or complex

// The dtype of a binary op's result when both operands are arrays (docs/semantics.md).
DType promote_types(DType a, DType b);

// The real type of a complex dtype's parts (c64 -> f32); other dtypes map to themselves.
DType real_dtype(DType t);

using complex64 = std::complex<float>;

// IEEE half and bfloat16 conversions, round to nearest even.
float f16_to_float(uint16_t bits);
uint16_t float_to_f16(float value);
float bf16_to_float(uint16_t bits);
uint16_t float_to_bf16(float value);

}  // namespace kiln
