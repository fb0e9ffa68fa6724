// expect_matches_reference: the frontend tests' comparison of a device with the reference
// evaluator. `build` makes the graph's outputs (f32) afresh for each device, so both run
// the same graph from the start; the outputs are evaluated together, as one graph.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/frontend/test_util.h"

namespace kiln::testing {

inline void expect_matches_reference(const std::shared_ptr<runtime::Device>& device,
                                     const std::function<std::vector<Tensor>()>& build,
                                     double tol) {
  std::vector<Tensor> want = build(), got = build();
  eval(runtime::make_device("reference"), want);
  eval(device, got);
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    expect_close(got[i], DType::F32, want[i].shape(), cast(want[i], DType::F64).to_vector<double>(),
                 tol, tol);
  }
}

}  // namespace kiln::testing
