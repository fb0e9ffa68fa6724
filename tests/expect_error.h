// expect_error: the one check of the error tests (DESIGN.md, Errors): `fn` throws E, and
// its message names every fragment (the op, the shapes, the fix).
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <string>
#include <vector>

namespace kiln::testing {

template <class E, class F>
void expect_error(F&& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    const std::string what = e.what();
    for (const std::string& f : fragments)
      EXPECT_NE(what.find(f), std::string::npos) << "'" << f << "' not in: " << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

}  // namespace kiln::testing
