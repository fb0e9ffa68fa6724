// Reference evaluation of fft, rfft and irfft: a plain DFT in double along the axis, each
// output a sum over the whole row (O(n^2) per row, the oracle the library FFTs are tested
// against). The phase of term j of output k is 2 pi ((j * k) mod n) / n, exact in integers
// before the one rounding of cos / sin.
#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

#include "ir/eval/ops.h"

namespace kiln::evaluator {

namespace {

using cd = std::complex<double>;
using ir::OpKind;

// exp(sign * 2 pi i * m / n) for m in [0, n).
std::vector<cd> twiddles(int64_t n, double sign) {
  std::vector<cd> w(static_cast<size_t>(n));
  for (int64_t m = 0; m < n; ++m) {
    const double a = sign * 2 * std::numbers::pi * static_cast<double>(m) / static_cast<double>(n);
    w[static_cast<size_t>(m)] = {std::cos(a), std::sin(a)};
  }
  return w;
}

}  // namespace

BufferPtr eval_spectral(const ir::Node& node, const Buffer& x) {
  check_accepts(node, x.dtype());
  const int64_t axis = node.attr_i64("axis");
  const Shape& in = x.shape();
  check(axis >= 0 && axis < static_cast<int64_t>(in.size()), node, "axis out of range");
  const Shape& out_shape = node.type.shape;
  const auto a = static_cast<size_t>(axis);
  const int64_t in_len = in[a], out_len = out_shape[a];
  const bool real_in = node.op == OpKind::Rfft, real_out = node.op == OpKind::Irfft;
  const bool inverse = real_out || (node.op == OpKind::Fft && node.attr_bool("inverse"));
  // The transform's length: irfft's n, else the input's axis.
  const int64_t n = real_out ? node.attr_i64("n") : in_len;
  check(n >= 1 && in_len == (real_out ? n / 2 + 1 : n) &&
            out_len == (real_in    ? n / 2 + 1
                        : real_out ? node.attr_i64("length")
                                   : n),
        node, "axis lengths " + x.type().str() + " -> " + node.type.str() + " do not match");
  int64_t inner = 1, outer = 1;
  for (size_t d = a + 1; d < in.size(); ++d) inner *= in[d];
  for (size_t d = 0; d < a; ++d) outer *= in[d];
  const std::vector<cd> w = twiddles(n, inverse ? 1.0 : -1.0);
  auto out = new_output(node);
  std::vector<cd> row(static_cast<size_t>(n));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      // The row's n input values (irfft: the Hermitian extension of its half, with the
      // imaginary parts of frequency 0 and n/2 dropped, as NumPy's irfft does).
      for (int64_t j = 0; j < in_len; ++j) {
        const int64_t at = (o * in_len + j) * inner + i;
        row[static_cast<size_t>(j)] =
            real_in ? cd(x.as<float>()[at], 0.0) : cd(x.as<complex64>()[at]);
      }
      if (real_out) {
        row[0] = row[0].real();
        if (n % 2 == 0) row[static_cast<size_t>(n / 2)] = row[static_cast<size_t>(n / 2)].real();
        for (int64_t j = in_len; j < n; ++j)
          row[static_cast<size_t>(j)] = std::conj(row[static_cast<size_t>(n - j)]);
      }
      for (int64_t k = 0; k < out_len; ++k) {
        cd acc = 0;
        for (int64_t j = 0; j < n; ++j)
          acc += row[static_cast<size_t>(j)] * w[static_cast<size_t>((j * k) % n)];
        const int64_t at = (o * out_len + k) * inner + i;
        if (real_out)
          out->as<float>()[at] = static_cast<float>(acc.real());
        else
          out->as<complex64>()[at] =
              complex64(static_cast<float>(acc.real()), static_cast<float>(acc.imag()));
      }
    }
  }
  return out;
}

}  // namespace kiln::evaluator
