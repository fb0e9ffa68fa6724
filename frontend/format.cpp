// Formatting tensor values for printing (see format.h).
#include "frontend/format.h"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <vector>

namespace kiln::frontend {

namespace {

std::string format_real(double v) {
  std::ostringstream os;
  os << v;  // %g style: 6 significant digits, "nan", "inf"
  return os.str();
}

template <class T>
T load(const Buffer& b, int64_t i) {
  T v;
  std::memcpy(&v, b.data() + static_cast<size_t>(i) * sizeof(T), sizeof(T));
  return v;
}

// Enumerates the printed positions of one dimension: all of them, or the edges around a
// gap marked by -1.
std::vector<int64_t> shown(int64_t n, bool summarize) {
  std::vector<int64_t> out;
  if (summarize && n > 2 * kEdgeItems) {
    for (int64_t i = 0; i < kEdgeItems; ++i) out.push_back(i);
    out.push_back(-1);
    for (int64_t i = n - kEdgeItems; i < n; ++i) out.push_back(i);
  } else {
    for (int64_t i = 0; i < n; ++i) out.push_back(i);
  }
  return out;
}

class Printer {
 public:
  explicit Printer(const Buffer& b)
      : b_(b),
        shape_(b.shape()),
        strides_(contiguous_strides(b.shape())),
        summarize_(b.type().numel() > kSummarizeAbove) {}

  std::string run() {
    measure(0, 0);
    std::string out;
    render(0, 0, out);
    return out;
  }

 private:
  void measure(size_t dim, int64_t offset) {
    if (dim == shape_.size()) {
      width_ = std::max(width_, format_element(b_, offset).size());
      return;
    }
    for (int64_t i : shown(shape_[dim], summarize_))
      if (i >= 0) measure(dim + 1, offset + i * strides_[dim]);
  }

  void render(size_t dim, int64_t offset, std::string& out) {
    if (dim == shape_.size()) {
      std::string s = format_element(b_, offset);
      out += std::string(width_ - s.size(), ' ') + s;
      return;
    }
    out += "[";
    bool inner = dim + 1 == shape_.size();
    // Between rows: a comma, then newlines (one per remaining dimension) and indentation.
    std::string sep =
        inner ? ", " : "," + std::string(shape_.size() - dim - 1, '\n') + std::string(dim + 1, ' ');
    auto items = shown(shape_[dim], summarize_);
    for (size_t k = 0; k < items.size(); ++k) {
      if (k) out += sep;
      if (items[k] < 0)
        out += "...";
      else
        render(dim + 1, offset + items[k] * strides_[dim], out);
    }
    out += "]";
  }

  const Buffer& b_;
  Shape shape_;
  std::vector<int64_t> strides_;
  bool summarize_;
  size_t width_ = 0;
};

}  // namespace

std::string format_element(const Buffer& b, int64_t i) {
  switch (b.dtype()) {
    case DType::Bool: return load<uint8_t>(b, i) ? "true" : "false";
    case DType::I8: return std::to_string(load<int8_t>(b, i));
    case DType::U8: return std::to_string(load<uint8_t>(b, i));
    case DType::I32: return std::to_string(load<int32_t>(b, i));
    case DType::I64: return std::to_string(load<int64_t>(b, i));
    case DType::F16: return format_real(f16_to_float(load<uint16_t>(b, i)));
    case DType::BF16: return format_real(bf16_to_float(load<uint16_t>(b, i)));
    case DType::F32: return format_real(load<float>(b, i));
    case DType::F64: return format_real(load<double>(b, i));
    case DType::C64: {
      complex64 c = load<complex64>(b, i);
      std::string im = format_real(c.imag());
      if (im[0] != '-' && im[0] != '+') im = "+" + im;
      return format_real(c.real()) + im + "j";
    }
  }
  return "?";
}

std::string format_values(const Buffer& buffer) {
  return Printer(buffer).run() + " : " + buffer.type().str();
}

}  // namespace kiln::frontend
