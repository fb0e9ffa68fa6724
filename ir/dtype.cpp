// DType tables and the 16-bit float conversions.
#include "ir/dtype.h"

#include <bit>
#include <cstring>

namespace kiln {

namespace {

struct DTypeInfo {
  DType type;
  std::string_view name;
  size_t size;
};

constexpr DTypeInfo kInfo[] = {
    {DType::Bool, "bool", 1}, {DType::I8, "i8", 1},   {DType::U8, "u8", 1},
    {DType::I32, "i32", 4},   {DType::I64, "i64", 8}, {DType::F16, "f16", 2},
    {DType::BF16, "bf16", 2}, {DType::F32, "f32", 4}, {DType::F64, "f64", 8},
    {DType::C64, "c64", 8},
};

const DTypeInfo& info(DType t) { return kInfo[static_cast<size_t>(t)]; }

// Rank inside a category, used to pick the wider of two dtypes of the same kind.
int width_rank(DType t) {
  switch (t) {
    case DType::Bool: return 0;
    case DType::I8:
    case DType::U8: return 1;
    case DType::I32: return 2;
    case DType::I64: return 3;
    case DType::F16:
    case DType::BF16: return 1;
    case DType::F32: return 2;
    case DType::F64: return 3;
    case DType::C64: return 1;
  }
  return 0;
}

int category(DType t) {
  if (is_bool(t)) return 0;
  if (is_integer(t)) return 1;
  if (is_floating(t)) return 2;
  return 3;
}

}  // namespace

size_t dtype_size(DType t) { return info(t).size; }
std::string_view dtype_name(DType t) { return info(t).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& i : kInfo)
    if (i.name == name) return i.type;
  return std::nullopt;
}

bool is_bool(DType t) { return t == DType::Bool; }
bool is_integer(DType t) {
  return t == DType::I8 || t == DType::U8 || t == DType::I32 || t == DType::I64;
}
bool is_signed_integer(DType t) { return t == DType::I8 || t == DType::I32 || t == DType::I64; }
bool is_floating(DType t) {
  return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64;
}
bool is_complex(DType t) { return t == DType::C64; }
bool is_inexact(DType t) { return is_floating(t) || is_complex(t); }

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  int ca = category(a), cb = category(b);
  if (ca != cb) return ca > cb ? a : b;
  // Same category, different dtypes.
  if (ca == 1) {
    // i8 with u8 has no 16-bit home here; both fit in i32.
    if (width_rank(a) == width_rank(b)) return DType::I32;
    return width_rank(a) > width_rank(b) ? a : b;
  }
  if (ca == 2) {
    // f16 with bf16: neither holds the other exactly; f32 holds both.
    if (width_rank(a) == width_rank(b)) return DType::F32;
    return width_rank(a) > width_rank(b) ? a : b;
  }
  return DType::C64;
}

DType real_dtype(DType t) { return t == DType::C64 ? DType::F32 : t; }

float f16_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t float_to_f16(float value) {
  uint32_t f = std::bit_cast<uint32_t>(value);
  uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u)  // inf or nan; keep nan quiet
    return sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u);
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to inf
  if (abs < 0x38800000u) {                        // subnormal or zero in half
    // Scale so that the float adds produce the rounded subnormal mantissa.
    float magic = std::bit_cast<float>(0x3f000000u);  // 0.5
    float v = std::bit_cast<float>(abs) + magic;
    return sign | static_cast<uint16_t>(std::bit_cast<uint32_t>(v) - 0x3f000000u);
  }
  uint32_t mant_odd = (abs >> 13) & 1u;
  abs += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round to nearest even
  return sign | static_cast<uint16_t>(abs >> 13);
}

float bf16_to_float(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

uint16_t float_to_bf16(float value) {
  uint32_t f = std::bit_cast<uint32_t>(value);
  if ((f & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((f >> 16) | 0x40u);
  uint32_t rounding = 0x7fffu + ((f >> 16) & 1u);
  return static_cast<uint16_t>((f + rounding) >> 16);
}

}  // namespace kiln
