// Reference evaluation of conv: a direct cross-correlation over channels-first operands,
// x [n, c_in, s...] and w [c_out, c_in / groups, k...], with zero padding read as "outside
// x", accumulated wide like matmul (double, complex<double>, 64-bit integers) and rounded
// once. Tests: tests/ir/eval_conv_test.cpp (hand-worked values), and every device's
// differential suite compares against it.
#include <string>

#include "ir/eval/ops.h"
#include "ir/eval/types.h"
#include "ir/verifier.h"

namespace kiln::evaluator {

BufferPtr eval_conv(const ir::Node& node, const Buffer& x, const Buffer& w) {
  // The verifier's shape rule is the definition; an ill-typed node is refused before any
  // loop relies on its shapes.
  Type expected;
  try {
    expected = ir::infer_type(node.op, {x.type(), w.type()}, node.attrs, node.type);
  } catch (const VerifyError& e) {
    fail(node, e.what());
  }
  check(node.type == expected, node, "the result should be " + expected.str());
  const auto& stride = node.attr_i64s("stride");
  const auto& dilation = node.attr_i64s("dilation");
  const auto& low = node.attr_i64s("pad_low");
  const int64_t groups = node.attr_i64("groups");
  const size_t sp = stride.size();
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  const Shape& os = node.type.shape;
  const int64_t c_in = xs[1], c_out = ws[0];
  const int64_t cig = c_in / groups, cog = c_out / groups;
  // The taps: every position of the kernel's spatial dims, and the input's strides.
  const Shape taps(ws.begin() + 2, ws.end());
  const int64_t ntaps = numel(taps);
  const std::vector<int64_t> xstride = contiguous_strides(xs);
  auto out = new_output(node);
  visit_dtype(x.dtype(), [&]<class E>(E) {
    using W = Wide<typename E::Value>;
    auto* dst = out->as<typename E::Storage>();
    std::vector<int64_t> tap(sp);
    for_each_coord(os, [&](int64_t flat, std::span<const int64_t> o) {
      const int64_t b = o[0], co = o[1], g = co / cog;
      W acc = W(0);
      for (int64_t ci = 0; ci < cig; ++ci) {
        const int64_t xbase = b * xstride[0] + (g * cig + ci) * xstride[1];
        const int64_t wbase = (co * cig + ci) * ntaps;
        for (int64_t t = 0; t < ntaps; ++t) {
          // Delinearize the tap and find the input position it reads.
          int64_t rest = t, at = xbase;
          bool inside = true;
          for (size_t d = sp; d-- > 0;) {
            tap[d] = rest % taps[d];
            rest /= taps[d];
          }
          for (size_t d = 0; d < sp; ++d) {
            const int64_t pos = o[2 + d] * stride[d] + tap[d] * dilation[d] - low[d];
            inside = inside && pos >= 0 && pos < xs[2 + d];
            at += pos * xstride[2 + d];
          }
          // The padding is zeros that are multiplied like any input (an infinite weight
          // times padding is NaN, as with an explicit pad).
          const auto xv = inside ? widen(load<E>(x, at)) : W(0);
          acc += xv * widen(load<E>(w, wbase + t));
        }
      }
      dst[flat] = convert<E>(acc);
    });
  });
  return out;
}

}  // namespace kiln::evaluator
